// Type-aware lint for what the compiler cannot see in stream-heavy code: promises left floating,
// promises passed where a callback's result is ignored, awaits of non-promises, methods torn from
// their objects. `npm test` runs it.
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", "servers/**", "**/*.js", "**/*.mjs", "**/*.cjs"] },
  {
    files: ["**/*.ts"],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      // What a provider threw is kept as `unknown` and rethrown unchanged for its system's error
      // mapping to read; narrowed by `!== undefined` it is `{}`, which these rules refuse.
      "@typescript-eslint/only-throw-error": "off",
      "@typescript-eslint/prefer-promise-reject-errors": "off",
      // Arrow JS, DuckDB and hyparquet type much of their API as `any`; the table code checks those
      // values where they enter, and a cast at every use would say nothing more.
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      // An async function without await still turns a throw into a rejection, which the contract's
      // promise-returning methods rely on.
      "@typescript-eslint/require-await": "off",
      // Error messages print values whose types (Arrow's DataType, unknown input) stringify well at run time.
      "@typescript-eslint/no-base-to-string": "off",
      "@typescript-eslint/restrict-template-expressions": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
);

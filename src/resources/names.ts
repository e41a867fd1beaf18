/** Names of files inside a folder: relative, "/"-separated, never escaping the folder. */
import { StowageError } from "../errors.js";

export function childPath(folderPath: string, name: string): string {
  if (typeof name !== "string" || name === "" || name.startsWith("/") || name.split("/").some((part) => part === ".." || part === "")) {
    throw new StowageError({ code: "InvalidInput", path: name, message: `"${name}" is not a relative file name inside the folder` });
  }
  return folderPath === "/" ? `/${name}` : `${folderPath}/${name}`;
}

/** The usage text of every command: light, so `stowage --help` loads nothing else. */

export const COPY_USAGE = `stowage cp|sync|mv SRC DEST [options]   (mv removes SRC once every file arrived)
  --dry-run              plan and report, change nothing
  --include GLOB         only matching files (repeatable)
  --exclude GLOB         leave matching files out (repeatable)
  --ignore-file NAME     .gitignore-syntax file in the source (repeatable)
  --include-git          copy .git/ directories too
  --skip MODE            never | size | size-mtime | checksum
  --delete-extras        also delete destination files the source lacks (what sync does)
  --no-overwrite         fail on files that exist at the destination
  --concurrency N        files in flight (default 16)
  --streams N            ranges of one large file (256 MiB+) in flight, where both ends allow (default 4)
  --remote MODE          auto | never | require: run copies out of an SSH host, or from a bucket into one, on that host
  --remote-credentials M any | scoped: scoped refuses to hand the host anything wider than this copy needs
  --json                 print the report as JSON
  --quiet                print nothing but errors
  --events               print progress events and the report as JSON lines`;

export const FILES_USAGE = `stowage ls PLACE [-R] [-l] [--json]
stowage cat FILE
stowage stat PLACE [--json]         type, size, mtime and checksums of a file or folder
stowage du PLACE [--json]           files and bytes below a folder
stowage rm PLACE... [--dry-run]`;

export const TABLE_USAGE = `stowage table head PLACE [-n N] [--format grid|csv|json]
stowage table schema PLACE [--json]
stowage table count PLACE [--filter EXPR]... [--json]
stowage table fetch PLACE [--columns a,b] [--filter EXPR]... [--format grid|csv|json]
stowage table stream PLACE [--batch-size N] [--shuffle-seed N] [--shard I/N] [--columns a,b] [--filter EXPR]...
stowage table write FILE... PLACE [--partition-cols a,b] [--append] [--dry-run] [--json]
  EXPR is column OP value with OP one of = != < <= > >=, e.g. 'x>0.5' or 'split=train';
  several --filter must all hold. FILE is CSV (.csv), JSON lines (.jsonl, .ndjson) or Parquet (.parquet).
  Rows print as a grid on a terminal and as CSV otherwise; --format json prints JSON lines.`;

export const NAMES_USAGE = `stowage name save PLACE NAME [--type table|blob|folder] [--note TEXT]
stowage name load NAME              where a name's data is (NAME@N for version N)
stowage name ls [PREFIX]            names in the local registry (~/), or the team's (@/)
stowage name history NAME
stowage name rm NAME [--data]       --data also deletes every version's data
stowage cluster save NAME [USER@]HOST[:PORT]
stowage cluster ls
stowage cluster rm NAME`;

export const DOCTOR_USAGE = `stowage doctor [--json]      systems, credential sources, registries, versions`;

export const QUICKSTART_USAGE = `stowage quickstart [--json] [--clean]   a tour on the local disk; --clean removes what it made`;

/** `stowage help exit-codes`. */
export const EXIT_CODE_HELP = `Exit codes (one per error code, as rclone does):
  0    success
  1    any other error (Unexpected, Conflict, RateLimited, ...)
  2    invalid input or usage (InvalidInput)
  3    not found (NotFound)
  4    permission denied (PermissionDenied)
  5    already exists (AlreadyExists)
  6    unsupported (Unsupported)
  7    unavailable or timed out (Unavailable, Timeout)
  130  aborted (Aborted)`;

/** Every SSH operation's errors become StowageErrors through the one mapping of ./errors.ts. */
import { createGuard } from "../guard.js";
import { mapSshError } from "./errors.js";

export const guard = createGuard("ssh", mapSshError);

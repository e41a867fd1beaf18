import { fixture } from "../conformance/fixtures/ssh.js";
import { defineTableSuite } from "./suite.js";

defineTableSuite(fixture);

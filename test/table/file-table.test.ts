import { fixture } from "../conformance/fixtures/file.js";
import { defineTableSuite } from "./suite.js";

defineTableSuite(fixture);

import { fixture } from "../conformance/fixtures/gs.js";
import { defineTableSuite } from "./suite.js";

defineTableSuite(fixture);

import { fixture } from "../conformance/fixtures/azure.js";
import { defineTableSuite } from "./suite.js";

defineTableSuite(fixture);

import { fixture } from "../conformance/fixtures/s3.js";
import { defineTableSuite } from "./suite.js";

defineTableSuite(fixture);

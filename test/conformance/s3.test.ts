import { defineConformanceSuite } from "./suite.js";
import { fixture } from "./fixtures/s3.js";

defineConformanceSuite(fixture);

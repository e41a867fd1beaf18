import { defineConformanceSuite } from "./suite.js";
import { fixture } from "./fixtures/file.js";

defineConformanceSuite(fixture);

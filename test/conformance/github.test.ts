import { defineConformanceSuite } from "./suite.js";
import { fixture } from "./fixtures/github.js";

defineConformanceSuite(fixture);

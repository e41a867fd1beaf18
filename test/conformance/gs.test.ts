import { defineConformanceSuite } from "./suite.js";
import { fixture } from "./fixtures/gs.js";

defineConformanceSuite(fixture);

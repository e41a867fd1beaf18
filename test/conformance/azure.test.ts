import { defineConformanceSuite } from "./suite.js";
import { fixture } from "./fixtures/azure.js";

defineConformanceSuite(fixture);

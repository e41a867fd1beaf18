import { defineConformanceSuite } from "./suite.js";
import { fixture } from "./fixtures/ssh.js";

defineConformanceSuite(fixture);

import { defineConformanceSuite } from "../../src/testing/index.js";
import { fixture } from "./fixtures/ssh.js";

defineConformanceSuite(fixture);

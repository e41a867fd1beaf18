import { defineConformanceSuite } from "../../src/testing/index.js";
import { fixture } from "./fixtures/github.js";

defineConformanceSuite(fixture);

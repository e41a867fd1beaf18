import { defineConformanceSuite } from "../../src/testing/index.js";
import { fixture } from "./fixtures/gs.js";

defineConformanceSuite(fixture);

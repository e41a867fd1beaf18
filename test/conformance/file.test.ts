import { defineConformanceSuite } from "../../src/testing/index.js";
import { fixture } from "./fixtures/file.js";

defineConformanceSuite(fixture);

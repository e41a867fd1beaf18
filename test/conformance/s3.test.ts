import { defineConformanceSuite } from "../../src/testing/index.js";
import { fixture } from "./fixtures/s3.js";

defineConformanceSuite(fixture);

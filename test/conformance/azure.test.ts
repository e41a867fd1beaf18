import { defineConformanceSuite } from "../../src/testing/index.js";
import { fixture } from "./fixtures/azure.js";

defineConformanceSuite(fixture);

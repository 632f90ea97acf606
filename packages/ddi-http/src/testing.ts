/**
 * `@otaflow/ddi-http/testing`: what tests and the demo need and production code does not, kept
 * out of the main entry point. SWUpdate's suricatta against a DDI server, and signed .swu images.
 */
export {
  buildSignedSwu,
  hasSwupdate,
  newcArchive,
  type SuricattaOptions,
  type SuricattaProcess,
  SWUPDATE_BINARY,
  startSuricatta,
} from './swupdateKit.js';

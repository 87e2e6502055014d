/*
 * The OpenFlow wire codec and action model: what the rest of TypeSwitch imports.
 *
 *   framer.ts            OfpFramer: TCP bytes -> whole messages
 *   codec.ts             decodeMessage / encodeMessage / encodeErrorReply (OfpFrame <-> bytes)
 *   messages.ts          the OfpMessage union (flow-mod, packet-in, stats, ...)
 *   hello.ts             version negotiation
 *   errors.ts            OfpError and the per-version error positions
 *   match-nxm.ts / match-of10.ts   NXM/OXM and OF1.0 matches <-> lib/flow Match
 *   ofpact*.ts           the action model, its wire forms and ovs-ofctl text
 *   flow-mod-parse.ts    add-flow / mod-flows / del-flows text -> FlowMod
 *   flow-stats-format.ts dump-flows lines
 *   group.ts, meter.ts   groups and meters (wire, text)
 */

export { DecodeError, hex, Reader, unhex, Writer } from './bytes.ts';
export {
  type DecodeResult,
  decodeMessage,
  encodeErrorReply,
  encodeMessage,
  MAX_VERSION,
  MIN_VERSION,
} from './codec.ts';
export { errorFromTriplet, errorTriplet, isOfpErrorName, OfpError } from './errors.ts';
export { parseFlowMod } from './flow-mod-parse.ts';
export {
  formatDuration,
  formatFlowModFlags,
  formatFlowStats,
  formatFlowStatsLine,
} from './flow-stats-format.ts';
export { type FrameEvent, OfpFramer } from './framer.ts';
export {
  type Bucket,
  formatGroup,
  formatGroupMod,
  type GroupCommand,
  type GroupDesc,
  type GroupMod,
  type GroupType,
  parseGroupMod,
} from './group.ts';
export { ALL_VERSIONS, DEFAULT_VERSIONS, helloFrame, negotiateVersion } from './hello.ts';
export { portFromOfp11, portToOfp11 } from './match-nxm.ts';
export { of10Expressible } from './match-of10.ts';
export * from './messages.ts';
export {
  formatMeterConfig,
  formatMeterMod,
  type MeterBand,
  type MeterCommand,
  type MeterConfig,
  type MeterMod,
  parseMeterMod,
} from './meter.ts';
export type * from './ofpact.ts';
export { instructionOf } from './ofpact.ts';
export { type CheckResult, checkOfpacts } from './ofpact-check.ts';
export { formatOfpact, formatOfpacts, formatSubfield } from './ofpact-format.ts';
export { lookupField, type ParseResult, parseOfpacts, parseSubfield } from './ofpact-parse.ts';
export { decodeActions, decodeInstructions, encodeActions } from './ofpact-wire.ts';
export {
  type FlowModProtocolOptions,
  matchProtocols,
  P_ANY,
  P_ANY_OXM,
  P_OF10_ANY,
  P_OF10_NXM,
  P_OF10_NXM_TID,
  P_OF10_STD,
  P_OF10_STD_TID,
  P_OF11_STD,
  P_OF12_OXM,
  P_OF13_OXM,
  P_OF14_OXM,
  P_OF15_OXM,
  protocolsToString,
  protocolVersion,
  usableProtocols,
} from './protocols.ts';
export type {
  GroupFeatures,
  GroupStats,
  MeterFeatures,
  MeterStats,
  PortStats,
  QueueStats,
  TableStats,
} from './stats.ts';
export {
  type FeatureLists,
  instructionsOf,
  nextTablesOf,
  type TableFeatureProp,
  type TableFeatures,
  tableFeatureProperties,
} from './table-features.ts';

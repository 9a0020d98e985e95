export { CoapEndpoint, type EndpointOptions, type EndpointStats } from './endpoint.js';
export {
  EndpointClosedError,
  ObservationEndedError,
  PeerResetError,
  RequestAbortedError,
  TokenInUseError,
  UnexpectedResponseError,
} from './errors.js';
export type {
  ClientObservation,
  ClientObservationEndReason,
  CoapLogger,
  CoapMethod,
  CoapOption,
  CoapRequest,
  CoapResponse,
  IncomingResponse,
  NotifyOptions,
  ObservationEndReason,
  OutgoingRequest,
  Peer,
  RequestContext,
  RequestHandler,
  ServerObservation,
  UnknownNotification,
  UnknownNotificationHandler,
} from './message.js';
export {
  type BlockSize,
  type BlockValue,
  decodeBlock,
  decodeUint,
  encodeBlock,
  encodeUint,
  OptionNumber,
} from './options.js';
export type { MalformedReason } from './wire.js';

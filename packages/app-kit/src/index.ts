export { writeFileAtomic } from './atomic-file.js';
export {
  type CliContext,
  type CliSpec,
  createCliLogger,
  formatUrl,
  type ReadyAddresses,
  readyLine,
  runCli,
  StartupInputError,
} from './cli-runner.js';
export { ConflictError, IdentityInUseError, StoreFileError } from './errors.js';
export { type CoapErrorEvent, type EventListeners, listenTo } from './events.js';
export {
  convertOption,
  envName,
  LISTEN_OPTION_SPECS,
  type ListenOptions,
  LOG_LEVELS,
  type LogLevel,
  OptionError,
  type OptionKind,
  type OptionSpec,
  type ParsedOptions,
  type ParseOptionsInput,
  parseOptions,
  type SocketOptions,
  socketConflict,
} from './options.js';
export {
  formatMetrics,
  HttpRequestCounter,
  METRICS_CONTENT_TYPE,
  type Metric,
  metricName,
  type StatsMetricsOptions,
  statsMetrics,
} from './prometheus.js';
export {
  createRestApp,
  type ErrorAnswer,
  type ErrorJson,
  type ErrorMapper,
  errorToJson,
  type RestAppOptions,
  RestError,
} from './rest-plumbing.js';
export { SseHub, type SseHubOptions } from './sse-hub.js';
export { registerStaticSite, type StaticSiteOptions } from './static-site.js';
export {
  boundAddresses,
  type CoapTuning,
  type DtlsEndpointSetup,
  type DtlsTransportOptions,
  type EndpointSetup,
  listenCoap,
  listenDtls,
  type TransportOptions,
} from './transports.js';

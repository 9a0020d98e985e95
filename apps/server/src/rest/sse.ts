import { listenTo, type SseHub } from '@lwm2m-ts/app-kit';
import type { ServerEvents } from '../events.js';
import { formatLabel, observationToJson, registrationToJson } from './json-shapes.js';
import { nodeToJson, toJsonValues } from './json-values.js';
import type { RestApiServer } from './server-api.js';

/** SSE event names, one per server event (`GET /api/events`). */
export type SseEventName =
  | 'registration'
  | 'update'
  | 'deregistration'
  | 'notification'
  | 'observation-cancelled'
  | 'send'
  | 'coap-error'
  | 'awake'
  | 'sleeping';

/** Cluster mode: `"remote": "<node id>"` on events another server process relayed. */
function relayed(remote: string | undefined): { remote?: string } {
  return remote === undefined ? {} : { remote };
}

/**
 * Streams the server's events to `hub`, one SSE event per server event; returns the function that
 * stops it. A listener that fails is reported to `onError` and the server goes on.
 */
export function streamServerEvents(
  server: RestApiServer,
  hub: SseHub<SseEventName>,
  onError: (err: unknown, where: string) => void,
): () => void {
  const queue = (endpoint: string) => server.queueState(endpoint);
  return listenTo<ServerEvents>(
    server,
    {
      registered: ({ registration, remote }) =>
        hub.send('registration', registration.endpoint, {
          endpoint: registration.endpoint,
          registration: registrationToJson(registration, queue(registration.endpoint)),
          ...relayed(remote),
        }),
      updated: ({ before, registration, remote }) =>
        hub.send('update', registration.endpoint, {
          endpoint: registration.endpoint,
          registration: registrationToJson(registration, queue(registration.endpoint)),
          before: registrationToJson(before),
          ...relayed(remote),
        }),
      deregistered: ({ registration, reason, remote }) =>
        hub.send('deregistration', registration.endpoint, {
          endpoint: registration.endpoint,
          reason,
          registration: registrationToJson(registration),
          ...relayed(remote),
        }),
      awake: ({ registration }) =>
        hub.send('awake', registration.endpoint, { endpoint: registration.endpoint }),
      sleeping: ({ registration }) =>
        hub.send('sleeping', registration.endpoint, { endpoint: registration.endpoint }),
      notification: (e) =>
        hub.send('notification', e.registration.endpoint, {
          endpoint: e.registration.endpoint,
          observation: observationToJson(e.observation),
          paths: [...e.observation.paths],
          status: e.code,
          ...(e.content === undefined ? {} : { content: nodeToJson(e.content) }),
          ...(e.values === undefined ? {} : { values: toJsonValues(e.values) }),
          ...(e.contentFormat === undefined ? {} : { format: formatLabel(e.contentFormat) }),
          ...relayed(e.remote),
        }),
      observationCancelled: ({ observation, reason, remote }) =>
        hub.send('observation-cancelled', observation.endpoint, {
          endpoint: observation.endpoint,
          observation: observationToJson(observation),
          reason,
          ...relayed(remote),
        }),
      send: (e) =>
        hub.send('send', e.registration.endpoint, {
          endpoint: e.registration.endpoint,
          values: toJsonValues(e.values),
          format: formatLabel(e.contentFormat),
          ...relayed(e.remote),
        }),
      coapError: (e) =>
        hub.send('coap-error', e.endpoint, {
          ...(e.endpoint === undefined ? {} : { endpoint: e.endpoint }),
          address: e.address,
          port: e.port,
          coapCode: e.code,
          message: e.message,
        }),
    },
    (err, name) => onError(err, `SSE ${name} event`),
  );
}

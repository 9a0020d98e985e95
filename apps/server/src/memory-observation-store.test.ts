import { describeObservationStoreContract } from '@lwm2m-ts/testkit/vitest';
import { InMemoryObservationStore } from './memory-observation-store.js';

describeObservationStoreContract('InMemoryObservationStore', {
  create: () => new InMemoryObservationStore(),
  count: (store) => store.size,
  keepsObjects: true,
});

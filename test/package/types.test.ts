import type { Static } from 'typebox';
import { describe, expectTypeOf, it } from 'vitest';
import type { BatchResult, EnqueueResult, Issue, JobState, JobView } from '../../src/api/schemas.js';
import type * as client from '../../src/client/index.js';
import type { schemas } from '../../src/jobs/index.js';

// The client's types are written out plainly (a consumer compiles them without typebox); these hold
// them equal to the schemas the routes validate with. `npx tsc --noEmit` is where a drift fails.
type BatchItems = Static<typeof schemas.batchRequest>['jobs'][number];

describe('the client types are the route schemas', () => {
  it('requests', () => {
    expectTypeOf<client.ShipRequest>().toEqualTypeOf<Static<typeof schemas.shipRequest>>();
    expectTypeOf<client.SyncRequest>().toEqualTypeOf<Static<typeof schemas.syncRequest>>();
    expectTypeOf<client.BatchItem>().toEqualTypeOf<BatchItems>();
  });

  it('answers', () => {
    expectTypeOf<client.EnqueueResult>().toEqualTypeOf<Static<typeof EnqueueResult>>();
    expectTypeOf<client.EnqueueResult[]>().toEqualTypeOf<Static<typeof BatchResult>['jobs']>();
    expectTypeOf<client.JobView>().toEqualTypeOf<Static<typeof JobView>>();
    expectTypeOf<client.JobState>().toEqualTypeOf<Static<typeof JobState>>();
    expectTypeOf<client.Issue>().toEqualTypeOf<Static<typeof Issue>>();
  });
});

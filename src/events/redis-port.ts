// What the events layer needs of Redis: plain commands on the commands connection, and blocking
// ones (XREADGROUP ... BLOCK) on a connection of their own, since a blocked connection can run
// nothing else. Made by the composition root from the broker's kind of link (single or cluster);
// replies are as node-redis's sendCommand returns them, RESP3 by default (maps where RESP2 has
// flat arrays): whoever reads one accepts both (webhook/stream-replies.ts).
export interface EventsRedis {
  call(args: readonly string[]): Promise<unknown>;
  block(args: readonly string[]): Promise<unknown>;
}

/**
 * The actors the admin API tells when creators change something that affects them, addressed
 * through their contracts (actors/contracts): the address types the kind and the data, so a
 * wrong one is a compile error, and the actor dead-letters data that fails its schema. Each tell
 * is written in the change's own transaction (`tellActor`) with a deterministic message id, so a
 * retried API call is deduplicated:
 *
 * - `userAddress`: `programPublished`, `programUnpublished`, `enroll`, `programControl`, `erase`
 * - `conversationAddress`: `erase`
 * - `creatorAddress`: `channelConnected`, `channelDisconnected`
 */
export { conversationAddress, creatorAddress, userAddress } from "../../actors/mod.ts";

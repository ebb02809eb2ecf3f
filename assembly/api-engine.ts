// Exports of the engine: image setup, processBatch, counters. Owned by the engine work.
export function enginePlaceholder(): i32 { return 0; }

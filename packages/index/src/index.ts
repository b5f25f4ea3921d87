export { createIndexPool, indexError, isConnectionError, type IndexPoolOptions, type Pool } from './db.ts';
export { migrate, loadMigrations, type Migration } from './migrate.ts';
export {
  documentRows,
  labelRows,
  ocrText,
  phashToBigint,
  bigintToPhash,
  type ImageRow,
  type LabelRow,
  type IndexRows,
} from './document-rows.ts';
export { upsertDocuments, type UpsertOptions } from './write.ts';
export {
  createOutcomeRecorder,
  indexBacklog,
  clearOverflow,
  outcomeKeys,
  INDEXER_GROUP,
  type OutcomeRecorder,
  type OutcomeRecorderOptions,
  type IndexBacklog,
} from './outcomes.ts';
export {
  createLiveIndexWriter,
  type LiveIndexWriter,
  type LiveIndexWriterOptions,
  type LiveIndexOutcome,
} from './live-update.ts';
export { createIndexer, type Indexer, type IndexerOptions } from './indexer.ts';
export { CursorCodec, filtersDigest, loadCursorKey, type CursorPosition } from './cursor.ts';
export { SearchService, SIMILAR_SQL } from './search.ts';
export { hashChunks, probesWithin } from './phash.ts';
export { reindex, type ReindexOptions, type ReindexResult } from './reindex.ts';

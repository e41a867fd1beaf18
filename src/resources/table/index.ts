export { Table, table, type FetchResult, type StreamItem } from "./table.js";
export type {
  Compression,
  FetchOptions,
  Filter,
  FilterClause,
  FilterOp,
  FilterValue,
  OutputFormat,
  ReadOptions as TableReadOptions,
  Row,
  StreamOptions,
  TableData,
  TableLocation,
  TableOptions,
  TableWriteOptions,
} from "./types.js";

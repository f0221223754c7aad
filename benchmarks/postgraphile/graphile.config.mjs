// PostGraphile v5 over the benchmark database: the amber preset on the public schema.
// DATABASE_URL and PORT come from the runner. The one addition lets clients order tasks
// by created_at and rank (v5 orders only by indexed columns unless told), as mcgraph's queries do.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { jsonPgSmartTags } from "postgraphile/utils";

const OrderTasksByCreation = jsonPgSmartTags({
  version: 1,
  config: {
    class: {
      task: { attribute: { created_at: { tags: { behavior: "+orderBy" } }, rank: { tags: { behavior: "+orderBy" } } } },
    },
  },
});

export default {
  extends: [PostGraphileAmberPreset],
  plugins: [OrderTasksByCreation],
  pgServices: [makePgService({ connectionString: process.env.DATABASE_URL, schemas: ["public"] })],
  grafserv: { host: "127.0.0.1", port: Number(process.env.PORT ?? 5678), graphiql: false },
  grafast: { explain: false },
};

"""Everything that touches the data folder: one atomic writer and the datasets (store), every
schema (schemas), what runs hand on, the lock and recovery (state), the end of a run against
the state and the commit of its result (commit), and schema migrations (migrate)."""

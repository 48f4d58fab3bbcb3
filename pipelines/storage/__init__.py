"""Everything that touches the data folder: one atomic writer and the datasets (store), every
schema (schemas), what runs hand on, the lock and recovery (state), and schema migrations
(migrate)."""

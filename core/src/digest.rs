//! DEBUG DIGEST / DEBUG DIGEST-VALUE: a digest of the keyspace (Redis's
//! computeDatasetDigest), used to compare a master with its replicas and a server
//! before and after a restart.

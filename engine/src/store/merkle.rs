//! The log as an RFC 9162 Merkle tree, kept incrementally.
//!
//! Leaf `i` (0-based) is the event at position `i + 1`; its leaf hash is
//! `SHA-256(0x00 ‖ the event's 32-byte chain hash)`, an interior node
//! `SHA-256(0x01 ‖ left ‖ right)` (RFC 9162 §2.1). The store keeps the hash
//! of every complete subtree of 16 leaves or more in `tree_hashes`, at the
//! index the Go checksum database's `tlog` gives it (Crosby and Wallach's
//! order: about one hash per eight events, written in the append's
//! transaction); the hash of a smaller subtree is computed when asked for
//! from the chain hashes of its at most 8 events, as `tlog`'s tiles do
//! (ADR 0043). So most appends write no tree row, and any root, inclusion
//! proof or consistency proof reads O(log n) rows and a few events. The
//! maths of indexes and proofs is cloudflare's `tlog_tiles`, a port of that
//! `tlog`; the storage is ours.
//!
//! The writer keeps the tree's right edge ([`Frontier`]) in memory: the
//! roots of the perfect subtrees a tree of `n` leaves splits into. A new
//! leaf merges with them and yields the hashes to store.

use std::collections::HashMap;

use tlog_tiles::{Hash, HashReader};

use super::{EventStore, StoreError};

/// A 32-byte SHA-256 hash.
pub type TreeHash = [u8; 32];

/// The leaf hash of an event: `SHA-256(0x00 ‖ chain hash)`.
pub fn leaf_hash(chain_hash: &[u8; 32]) -> TreeHash {
    tlog_tiles::record_hash(chain_hash).0
}

/// An interior node: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &TreeHash, right: &TreeHash) -> TreeHash {
    tlog_tiles::node_hash(Hash(*left), Hash(*right)).0
}

/// The root of the empty tree: SHA-256 of nothing.
pub const EMPTY_ROOT: TreeHash = tlog_tiles::EMPTY_HASH.0;

/// The lowest level whose subtrees' hashes are stored: a subtree below it
/// (at most 8 leaves) is hashed again from its events' chain hashes when a
/// root or a proof needs it (ADR 0043). Logs written before kept every
/// level; the rows below this one are left where they are and not read.
pub const STORED_FROM_LEVEL: u8 = 4;

/// Where in `tree_hashes` the hash of the subtree at `level` (leaves
/// `n·2^level .. (n+1)·2^level`) is kept.
pub fn stored_index(level: u8, n: u64) -> u64 {
    tlog_tiles::stored_hash_index(level, n)
}

/// The stored indexes of the right edge of a tree of `size` leaves, left
/// to right: one per bit set in `size`.
pub(crate) fn frontier_indexes(size: u64) -> Vec<u64> {
    (0..64u8)
        .rev()
        .filter(|level| size >> level & 1 == 1)
        .map(|level| stored_index(level, (size >> level) - 1))
        .collect()
}

/// A read of the tree's hashes at some stored indexes: the indexes of
/// [`STORED_FROM_LEVEL`] and up are read from `tree_hashes`, the rest are
/// computed from the chain hashes of the events under them, read with
/// them (in one statement where the read is a round trip).
#[derive(Debug, Default)]
pub(crate) struct TreeRead {
    /// The indexes to read from `tree_hashes`.
    pub stored: Vec<u64>,
    /// The positions of the events whose chain hashes give the rest, in
    /// order, each once.
    pub positions: Vec<u64>,
    /// The indexes to compute, with their level and subtree number.
    computed: Vec<(u64, u8, u64)>,
}

impl TreeRead {
    pub fn new(indexes: &[u64]) -> Self {
        let mut read = Self::default();
        for &index in indexes {
            let (level, n) = tlog_tiles::split_stored_hash_index(index);
            if level >= STORED_FROM_LEVEL {
                read.stored.push(index);
            } else {
                read.positions.extend(leaves_of(level, n));
                read.computed.push((index, level, n));
            }
        }
        read.positions.sort_unstable();
        read.positions.dedup();
        read
    }

    /// The hashes found: `stored` as read from `tree_hashes`, and those
    /// computed from `chain` (chain hashes by position). An index whose
    /// events are not all in `chain` is left out, as a missing stored row
    /// is.
    pub fn finish(
        self,
        mut stored: HashMap<u64, TreeHash>,
        chain: &HashMap<u64, [u8; 32]>,
    ) -> HashMap<u64, TreeHash> {
        for (index, level, n) in self.computed {
            let mut subtree = Frontier::default();
            for position in leaves_of(level, n) {
                match chain.get(&position) {
                    Some(hash) => subtree.push_leaf(hash),
                    None => break,
                }
            }
            if subtree.size() == 1 << level {
                stored.insert(index, subtree.root());
            }
        }
        stored
    }
}

/// The positions of the events under subtree `n` of `level`.
fn leaves_of(level: u8, n: u64) -> std::ops::RangeInclusive<u64> {
    let width = 1u64 << level;
    n * width + 1..=(n + 1) * width
}

/// The right edge of a tree: the roots of the perfect subtrees of its
/// leaves, left to right, with their levels. Everything a next leaf needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (level, hash), levels strictly decreasing.
    roots: Vec<(u8, TreeHash)>,
}

impl Frontier {
    /// The frontier of a tree of `size` leaves from its stored right edge
    /// (the hashes at [`frontier_indexes`], in that order).
    pub(crate) fn from_stored(size: u64, hashes: Vec<TreeHash>) -> Result<Self, StoreError> {
        let levels: Vec<u8> = (0..64u8)
            .rev()
            .filter(|level| size >> level & 1 == 1)
            .collect();
        if levels.len() != hashes.len() {
            return Err(StoreError::Internal(format!(
                "the Merkle tree's right edge at size {size} is incomplete"
            )));
        }
        Ok(Self {
            size,
            roots: levels.into_iter().zip(hashes).collect(),
        })
    }

    /// The frontier of a tree of `size` leaves from the hashes found at
    /// its [`frontier_indexes`].
    ///
    /// # Errors
    /// When one of them was not found.
    pub(crate) fn from_found(
        size: u64,
        mut found: HashMap<u64, TreeHash>,
    ) -> Result<Self, StoreError> {
        let hashes: Option<Vec<TreeHash>> = frontier_indexes(size)
            .iter()
            .map(|index| found.remove(index))
            .collect();
        Self::from_stored(size, hashes.unwrap_or_default())
    }

    /// Leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds the leaf of an event with `chain_hash`; returns the hashes to
    /// store, from the index [`stored_index`]`(0, leaf)` on: the leaf hash,
    /// then each subtree it completes.
    pub fn push(&mut self, chain_hash: &[u8; 32]) -> Vec<TreeHash> {
        self.push_leaf_hash(leaf_hash(chain_hash))
    }

    /// Adds a leaf by its leaf hash; returns the hashes to store, as
    /// [`Frontier::push`] does.
    pub fn push_leaf_hash(&mut self, leaf: TreeHash) -> Vec<TreeHash> {
        let mut h = leaf;
        let mut level = 0u8;
        let mut stored = vec![h];
        while let Some(&(top, left)) = self.roots.last() {
            if top != level {
                break;
            }
            self.roots.pop();
            h = node_hash(&left, &h);
            level += 1;
            stored.push(h);
        }
        self.roots.push((level, h));
        self.size += 1;
        stored
    }

    /// Adds a leaf without keeping what to store (a verifier's walk).
    pub fn push_leaf(&mut self, chain_hash: &[u8; 32]) {
        self.fold_leaf(leaf_hash(chain_hash));
    }

    /// Adds a leaf by its leaf hash without keeping what to store (a walk
    /// that hashed its leaves where it read them).
    pub fn fold_leaf(&mut self, leaf: TreeHash) {
        let mut h = leaf;
        let mut level = 0u8;
        while let Some(&(top, left)) = self.roots.last() {
            if top != level {
                break;
            }
            self.roots.pop();
            h = node_hash(&left, &h);
            level += 1;
        }
        self.roots.push((level, h));
        self.size += 1;
    }

    /// The tree's root hash (RFC 9162 MTH).
    pub fn root(&self) -> TreeHash {
        let mut roots = self.roots.iter().rev();
        let Some(&(_, mut h)) = roots.next() else {
            return EMPTY_ROOT;
        };
        for (_, left) in roots {
            h = node_hash(left, &h);
        }
        h
    }

    /// The rows to store for new leaves `chain_hashes` (their subtrees of
    /// [`STORED_FROM_LEVEL`] and up), and the frontier after them.
    pub(crate) fn extend<'h>(
        mut self,
        chain_hashes: impl IntoIterator<Item = &'h [u8; 32]>,
    ) -> (Vec<(u64, TreeHash)>, Self) {
        let mut rows = Vec::new();
        for hash in chain_hashes {
            let at = stored_index(0, self.size);
            rows.extend((at..).zip(self.push(hash)).skip(STORED_FROM_LEVEL.into()));
        }
        (rows, self)
    }
}

/// A [`HashReader`] asked twice: first it only notes which indexes the
/// question needs (answering zeros), then it answers from those hashes,
/// read in between.
enum Reader<'a> {
    Wants(&'a std::cell::RefCell<Vec<u64>>),
    Have(HashMap<u64, TreeHash>),
}

impl HashReader for Reader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        match self {
            Self::Wants(wants) => {
                wants.borrow_mut().extend_from_slice(indexes);
                Ok(vec![Hash([0; 32]); indexes.len()])
            }
            Self::Have(have) => indexes
                .iter()
                .map(|i| {
                    have.get(i)
                        .map(|h| Hash(*h))
                        .ok_or(tlog_tiles::Error::IndexesNotInTree)
                })
                .collect(),
        }
    }
}

/// Answers `ask` from hashes held in memory.
fn in_memory<T>(
    stored: &HashMap<u64, TreeHash>,
    ask: impl Fn(&Reader<'_>) -> Result<T, tlog_tiles::Error>,
) -> Result<T, StoreError> {
    // The reader owns its map; proofs read O(log n) hashes, so copying
    // just those is cheap.
    let wants = std::cell::RefCell::default();
    ask(&Reader::Wants(&wants)).map_err(tree_error)?;
    let have = wants
        .into_inner()
        .into_iter()
        .filter_map(|i| stored.get(&i).map(|h| (i, *h)))
        .collect();
    ask(&Reader::Have(have)).map_err(tree_error)
}

/// The root of the tree of `size` leaves from its stored hashes (as
/// [`Frontier::push`] returns them, by [`stored_index`]), held in memory.
///
/// # Errors
/// When a hash the answer needs is missing.
pub fn root_from(stored: &HashMap<u64, TreeHash>, size: u64) -> Result<TreeHash, StoreError> {
    if size == 0 {
        return Ok(EMPTY_ROOT);
    }
    in_memory(stored, |r| tlog_tiles::tree_hash(size, r).map(|h| h.0))
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves, from
/// stored hashes held in memory: what [`EventStore::inclusion_proof`]
/// answers from the database.
///
/// # Errors
/// When a hash the answer needs is missing, or `index >= size`.
pub fn inclusion_from(
    stored: &HashMap<u64, TreeHash>,
    index: u64,
    size: u64,
) -> Result<Vec<TreeHash>, StoreError> {
    in_memory(stored, |r| {
        tlog_tiles::prove_record(size, index, r).map(|p| p.into_iter().map(|h| h.0).collect())
    })
}

/// The consistency proof from `old_size` to `new_size`, from stored hashes
/// held in memory: what [`EventStore::consistency_proof`] answers from the
/// database.
///
/// # Errors
/// When a hash the answer needs is missing, or the sizes are out of order.
pub fn consistency_from(
    stored: &HashMap<u64, TreeHash>,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<TreeHash>, StoreError> {
    if old_size == new_size {
        return Ok(Vec::new());
    }
    in_memory(stored, |r| {
        tlog_tiles::prove_tree(new_size, old_size, r).map(|p| p.into_iter().map(|h| h.0).collect())
    })
}

fn tree_error(err: tlog_tiles::Error) -> StoreError {
    StoreError::Internal(format!("the Merkle tree cannot answer: {err}"))
}

/// Checks an RFC 9162 inclusion proof: that `proof` shows the leaf with
/// hash `leaf` at `index` in the tree of `size` leaves with root `root`.
///
/// # Errors
/// A message saying why the proof does not hold.
pub fn check_inclusion(
    proof: &[TreeHash],
    size: u64,
    root: &TreeHash,
    index: u64,
    leaf: &TreeHash,
) -> Result<(), String> {
    let proof: Vec<Hash> = proof.iter().map(|h| Hash(*h)).collect();
    tlog_tiles::check_record(&proof, size, Hash(*root), index, Hash(*leaf))
        .map_err(|e| format!("the inclusion proof does not hold: {e}"))
}

/// Checks an RFC 9162 consistency proof: that the tree of `new_size`
/// leaves with root `new_root` extends the tree of `old_size` with root
/// `old_root`.
///
/// # Errors
/// A message saying why the proof does not hold.
pub fn check_consistency(
    proof: &[TreeHash],
    new_size: u64,
    new_root: &TreeHash,
    old_size: u64,
    old_root: &TreeHash,
) -> Result<(), String> {
    if old_size == new_size {
        return if old_root == new_root && proof.is_empty() {
            Ok(())
        } else {
            Err("the two trees have the same size but different roots".into())
        };
    }
    let proof: Vec<Hash> = proof.iter().map(|h| Hash(*h)).collect();
    tlog_tiles::check_tree(&proof, new_size, Hash(*new_root), old_size, Hash(*old_root))
        .map_err(|e| format!("the consistency proof does not hold: {e}"))
}

impl EventStore {
    /// Reads the stored tree hashes at `indexes`.
    async fn tree_hashes(&self, indexes: &[u64]) -> Result<HashMap<u64, TreeHash>, StoreError> {
        let found = self.inner.backend.stored_tree_hashes(indexes).await?;
        if found.len() != indexes.len() {
            return Err(StoreError::Unavailable(
                "the log's Merkle tree is not complete up to this size; open the log writable \
                 once (e.g. `jejak serve`) to build it from the events"
                    .into(),
            ));
        }
        Ok(found)
    }

    /// Answers `ask` with a `tlog_tiles` reader, reading the hashes it
    /// needs first: O(log n) rows.
    async fn with_tree<T>(
        &self,
        ask: impl Fn(&Reader<'_>) -> Result<T, tlog_tiles::Error>,
    ) -> Result<T, StoreError> {
        let wants = std::cell::RefCell::default();
        ask(&Reader::Wants(&wants)).map_err(tree_error)?;
        let have = Reader::Have(self.tree_hashes(&wants.into_inner()).await?);
        ask(&have).map_err(tree_error)
    }

    /// The number of leaves in the tree: the log's head position.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn tree_size(&self) -> Result<u64, StoreError> {
        Ok(self.digest().await?.position)
    }

    fn check_size(&self, field: &'static str, size: u64, head: u64) -> Result<(), StoreError> {
        if size > head {
            return Err(StoreError::invalid(
                field,
                format!("{size} is past the log's size ({head})"),
            ));
        }
        Ok(())
    }

    /// The root hash of the tree of the first `size` events.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a size past the log; storage failures.
    pub async fn tree_root(&self, size: u64) -> Result<TreeHash, StoreError> {
        self.check_size("tree_size", size, self.tree_size().await?)?;
        if size == 0 {
            return Ok(EMPTY_ROOT);
        }
        self.with_tree(|r| tlog_tiles::tree_hash(size, r).map(|h| h.0))
            .await
    }

    /// The RFC 9162 inclusion proof (audit path) of leaf `index` (the event
    /// at position `index + 1`) in the tree of `size` leaves.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for an index not below the size or a
    /// size past the log; storage failures.
    pub async fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<Vec<TreeHash>, StoreError> {
        self.check_size("tree_size", size, self.tree_size().await?)?;
        if index >= size {
            return Err(StoreError::invalid(
                "position",
                format!("position {} is not in a tree of {size} events", index + 1),
            ));
        }
        self.with_tree(|r| {
            tlog_tiles::prove_record(size, index, r).map(|p| p.into_iter().map(|h| h.0).collect())
        })
        .await
    }

    /// The RFC 9162 consistency proof that the tree of `new_size` leaves
    /// extends the tree of `old_size`.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] unless `1 <= old_size <= new_size <=`
    /// the log's size; storage failures.
    pub async fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<TreeHash>, StoreError> {
        self.check_size("new_size", new_size, self.tree_size().await?)?;
        if old_size == 0 || old_size > new_size {
            return Err(StoreError::invalid(
                "old_size",
                format!("must be from 1 to the new size ({new_size}); it is {old_size}"),
            ));
        }
        if old_size == new_size {
            return Ok(Vec::new());
        }
        self.with_tree(|r| {
            tlog_tiles::prove_tree(new_size, old_size, r)
                .map(|p| p.into_iter().map(|h| h.0).collect())
        })
        .await
    }

    /// The tree's right edge at `size` leaves, read from storage.
    pub(crate) async fn stored_frontier(&self, size: u64) -> Result<Frontier, StoreError> {
        Frontier::from_found(size, self.tree_hashes(&frontier_indexes(size)).await?)
    }
}

impl super::Backend {
    async fn stored_tree_hashes(
        &self,
        indexes: &[u64],
    ) -> Result<HashMap<u64, TreeHash>, StoreError> {
        match self {
            Self::Sqlite(b) => b.tree_hashes(indexes).await,
            Self::Postgres(b) => b.tree_hashes(indexes).await,
        }
    }

    /// Builds the tree hashes a log written before the tree was kept lacks,
    /// from its events, so that the tree covers the log up to `head`. Each
    /// batch of appends writes its tree hashes whole, so the stored
    /// subtrees are always a prefix of the log.
    pub(crate) async fn complete_tree(&self, head: u64) -> Result<(), StoreError> {
        let edge = frontier_indexes(head);
        if self.stored_tree_hashes(&edge).await?.len() == edge.len() {
            return Ok(());
        }
        // The stored prefix, in whole subtrees of the lowest stored level.
        let (mut lo, mut hi) = (0, head >> STORED_FROM_LEVEL);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            let subtree = stored_index(STORED_FROM_LEVEL, mid - 1);
            if self.stored_tree_hashes(&[subtree]).await?.is_empty() {
                hi = mid - 1;
            } else {
                lo = mid;
            }
        }
        let lo = lo << STORED_FROM_LEVEL;
        tracing::info!(from = lo, to = head, "building the log's Merkle tree");
        let mut frontier =
            Frontier::from_found(lo, self.stored_tree_hashes(&frontier_indexes(lo)).await?)?;
        while frontier.size() < head {
            let events = self
                .read_all(frontier.size() as i64, super::MAX_READ_LIMIT)
                .await?;
            if events.is_empty() {
                break;
            }
            let (rows, next) = frontier.extend(events.iter().map(|e| &e.hash));
            match self {
                Self::Sqlite(b) => b.insert_tree_rows(&rows).await?,
                Self::Postgres(b) => b.insert_tree_rows(&rows).await?,
            }
            frontier = next;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_below_the_stored_levels_are_computed_as_they_were_stored() {
        let chain: Vec<[u8; 32]> = (0..100u8).map(|i| [i; 32]).collect();
        // Every level, as logs kept them before ADR 0043.
        let mut every = HashMap::new();
        let mut frontier = Frontier::default();
        for hash in &chain {
            let at = stored_index(0, frontier.size());
            every.extend((at..).zip(frontier.push(hash)));
        }
        // What the writer stores now: nothing below STORED_FROM_LEVEL.
        let (rows, _) = Frontier::default().extend(&chain);
        assert_eq!(
            rows.len(),
            6 + 3 + 1,
            "subtrees of 16, 32 and 64 of 100 leaves"
        );
        let stored: HashMap<u64, TreeHash> = rows.into_iter().collect();
        assert!(stored.iter().all(|(i, h)| every[i] == *h));
        let by_position: HashMap<u64, [u8; 32]> = (1..).zip(chain.iter().copied()).collect();
        let read = |indexes: &[u64], upto: u64| {
            let read = TreeRead::new(indexes);
            let chain = read
                .positions
                .iter()
                .filter(|p| **p <= upto)
                .map(|p| (*p, by_position[p]))
                .collect();
            let found = read
                .stored
                .iter()
                .filter_map(|i| stored.get(i).map(|h| (*i, *h)))
                .collect();
            read.finish(found, &chain)
        };
        // Every hash of the tree of 100 leaves, read as a proof would.
        let indexes: Vec<u64> = every.keys().copied().collect();
        assert_eq!(read(&indexes, 100), every);
        // The right edge at every size, and the frontier it gives.
        for size in 1..=100u64 {
            let mut upto = Frontier::default();
            for hash in &chain[..size as usize] {
                upto.push_leaf(hash);
            }
            let found = read(&frontier_indexes(size), size);
            assert_eq!(
                Frontier::from_found(size, found).unwrap(),
                upto,
                "size {size}"
            );
        }
        // A subtree whose events are not all there is not found.
        let last = stored_index(2, 24);
        assert!(read(&[last], 99).is_empty());
        assert!(Frontier::from_found(99, read(&frontier_indexes(99), 98)).is_err());
    }
}

"""RFC 9162 Merkle hashing: the test vectors Certificate Transparency's implementations share,
the compact frontier against the full tree, and inclusion proofs checked by the RFC's own
verification procedure (§2.1.3.2) written out here independently of core."""

from __future__ import annotations

import hashlib

import pytest

from govcred.core.merkle import EMPTY_ROOT, Frontier, inclusion_proof, leaf_hash, root, verify_inclusion

#: The leaf inputs of the CT test vectors (certificate-transparency, merkle_tree_test)
VECTOR_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
VECTOR_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}


def _rfc_verify(leaf: bytes, index: int, size: int, path: list[bytes], want: bytes) -> bool:
    """RFC 9162 §2.1.3.2, step by step."""

    def node(a, b):
        return hashlib.sha256(b"\x01" + a + b).digest()

    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node(p, r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == want


def test_leaf_and_node_prefixes_follow_rfc_9162():
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert root([b"L" * 32, b"R" * 32]) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    assert root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("size", sorted(VECTOR_ROOTS))
def test_roots_of_the_ct_test_vectors(size):
    leaves = [leaf_hash(bytes.fromhex(x)) for x in VECTOR_LEAVES[:size]]
    assert root(leaves).hex() == VECTOR_ROOTS[size]


def test_the_frontier_gives_the_root_of_every_prefix():
    leaves = [leaf_hash(str(i).encode()) for i in range(70)]
    frontier = Frontier()
    for n, leaf in enumerate(leaves, start=1):
        frontier.append(leaf)
        assert frontier.root() == root(leaves[:n])
        resumed = Frontier(frontier.size, frontier.nodes)  # as the checkpointer reloads it
        assert resumed.root() == frontier.root()


def test_a_frontier_with_the_wrong_number_of_nodes_is_refused():
    with pytest.raises(ValueError, match="a frontier of size 3 has 2 nodes, not 1"):
        Frontier(3, [b"x" * 32])


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 13])
def test_every_inclusion_proof_verifies_by_the_rfc_procedure(size):
    leaves = [leaf_hash(bytes([i])) for i in range(size)]
    top = root(leaves)
    for index in range(size):
        path = inclusion_proof(leaves, index)
        assert _rfc_verify(leaves[index], index, size, path, top)
        assert verify_inclusion(leaves[index], index, size, path, top)
        assert not verify_inclusion(leaf_hash(b"other"), index, size, path, top)
        assert not _rfc_verify(leaf_hash(b"other"), index, size, path, top)

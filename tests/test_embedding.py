import numpy as np
import pytest


def test_vectors_are_unit_length_and_discriminate(real_embedder):
    v = real_embedder.embed(["Three attackers came in a car.", "The weather was sunny in Lahore.", "Three gunmen arrived by car."])
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[2] > v[0] @ v[1] + 0.2
    assert real_embedder.embed([]).shape == (0, 384)


def test_order_is_kept_across_length_sorted_batches(real_embedder):
    texts = ["short", "a much longer sentence about a police office in Karachi " * 3, "mid length text here"]
    together = real_embedder.embed(texts)
    alone = np.stack([real_embedder.embed([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-5)


def test_many_batches_run_in_parallel_and_keep_their_rows(real_embedder):
    """Over several batches, two run at once (one per core): every row must still be its own text's."""
    texts = [f"Report {i}: " + "the gunmen entered the building " * (i % 7 + 1) for i in range(5 * real_embedder.batch_size + 3)]
    together = real_embedder.embed(texts)
    alone = np.stack([real_embedder.embed([t])[0] for t in texts[:: real_embedder.batch_size - 1]])
    assert np.allclose(together[:: real_embedder.batch_size - 1], alone, atol=1e-5)
    assert len({round(float(v[0]), 6) for v in together}) > len(texts) // 2  # not one row copied everywhere
    done = []
    real_embedder.embed(texts, progress=done.append)
    assert sum(done) == len(texts)


@pytest.mark.models
def test_numpy_minilm_matches_sentence_transformers(real_embedder):
    """Oracle: the NumPy forward pass equals sentence-transformers on the same weights."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(real_embedder.folder), device="cpu")
    texts = [
        "The Karachi Police Office is on Shahrae Faisal.",
        "How many attackers were there?",
        "x",
        "Über café — naïve 4.5 km pic.twitter.com/2FF",
    ]
    ours = real_embedder.embed(texts)
    ref = st.encode(texts, normalize_embeddings=True)
    assert np.min(np.sum(ours * ref, axis=1)) > 0.9999

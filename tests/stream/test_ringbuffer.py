import threading

import numpy as np

from biofeedback.stream import RingBuffer


def test_readers_have_their_own_cursor_and_see_every_sample():
    rb = RingBuffer(2, 100)
    a = b = 0
    seen_a, seen_b = [], []
    for i in range(30):
        x = np.arange(i * 7, i * 7 + 7, dtype=float)
        rb.write(np.vstack([x, -x]), x)
        d, t, a, lost = rb.read_since(a)
        assert lost == 0
        seen_a.append(t)
        if i % 3 == 0:
            d, t, b, lost = rb.read_since(b)
            seen_b.append(t)
    d, t, b, lost = rb.read_since(b)
    seen_b.append(t)
    np.testing.assert_array_equal(np.concatenate(seen_a), np.arange(210.0))
    np.testing.assert_array_equal(np.concatenate(seen_b), np.arange(210.0))


def test_a_reader_that_falls_behind_is_told_how_much_it_lost():
    rb = RingBuffer(1, 50)
    rb.write(np.arange(120.0)[None], np.arange(120.0))
    d, t, cur, lost = rb.read_since(0)
    assert lost == 70 and cur == 120
    np.testing.assert_array_equal(t, np.arange(70.0, 120.0))
    np.testing.assert_array_equal(rb.latest(5)[1], np.arange(115.0, 120.0))


def test_concurrent_writer_and_reader_lose_nothing():
    rb = RingBuffer(1, 4000)  # larger than all writes: no loss is possible
    got = []
    done = threading.Event()

    def writer():
        for i in range(2000):
            rb.write(np.array([[float(i)]]), np.array([float(i)]))
        done.set()

    th = threading.Thread(target=writer)
    th.start()
    cur = 0
    while not (done.is_set() and cur == rb.n_written):
        _, t, cur, lost = rb.read_since(cur)
        assert lost == 0
        got.append(t)
    th.join()
    np.testing.assert_array_equal(np.concatenate(got), np.arange(2000.0))

// Table-batched embedding cases: forward + fused backward/lazy-Adam update
// at batch 4096 over an 8-wide table of 10k rows and of 4.37M rows (the
// KuaiRand user_id scale): the step touches at most 4096 rows either way,
// so the two times should be close (cost independent of the vocabulary).
#include <memory>
#include <random>

#include "bench.h"
#include "dynrec/dynrec.h"

namespace dynrec_bench {

namespace {
struct TbeBuffers {
    int64_t rows, dim, batch;
    int64_t offset = 0, bag = 1;
    int64_t table = 0;
    int32_t pooling = DYNREC_POOLING_SUM;
    std::vector<float> w, m, v, out, go;
    std::vector<int64_t> ids;
    int64_t step = 0;
    TbeBuffers(int64_t r, int64_t d, int64_t b)
        : rows(r), dim(d), batch(b), w(random_buffer(r * d, 1)), m(r * d), v(r * d), out(b * d),
          go(random_buffer(b * d, 2)), ids(b) {
        std::mt19937_64 rng(3);
        for (auto& id : ids) id = std::uniform_int_distribution<int64_t>(1, r - 1)(rng);
    }
    void run(bool reference) {
        ++step;
        if (reference) {
            check(dynrec_tbe_forward_reference(1, &rows, &dim, &offset, 1, &table, &bag, &pooling, w.data(),
                                               rows * dim, batch, ids.data(), out.data()));
            check(dynrec_tbe_backward_update_reference(1, &rows, &dim, &offset, 1, &table, &bag, &pooling, w.data(),
                                                       rows * dim, batch, ids.data(), go.data(),
                                                       DYNREC_SPARSE_LAZY_ADAM, 1e-3f, 1e-8f, 0.9f, 0.999f, step,
                                                       m.data(), v.data(), nullptr));
        } else {
            check(dynrec_tbe_forward(DYNREC_DEVICE_CPU, nullptr, 1, &rows, &dim, &offset, 1, &table, &bag, &pooling,
                                     w.data(), rows * dim, batch, ids.data(), out.data(), nullptr, 0));
            check(dynrec_tbe_backward_update(DYNREC_DEVICE_CPU, nullptr, 1, &rows, &dim, &offset, 1, &table, &bag,
                                             &pooling, w.data(), rows * dim, batch, ids.data(), go.data(),
                                             DYNREC_SPARSE_LAZY_ADAM, 1e-3f, 1e-8f, 0.9f, 0.999f, step, m.data(),
                                             v.data(), nullptr, nullptr, 0));
        }
    }
};
// KuaiRand/PEPNet-like: user_id 4.37M, video_id 1M (+ a 50-long click
// sequence over it, MEAN), author_id 500k, 18 small fields; all 8 wide.
struct PepNetTbe {
    std::vector<int64_t> rows, dims, offsets, field_table, bags;
    std::vector<int32_t> pooling;
    int64_t batch, numel = 0, slots = 0, width = 0;
    std::vector<float> w, m, v, out, go;
    std::vector<int64_t> ids;
    int64_t step = 0;
    explicit PepNetTbe(int64_t b) : batch(b) {
        std::vector<int64_t> vocab{4370000, 1000000, 500000};
        for (int i = 0; i < 18; ++i) vocab.push_back(10 + 37 * i);
        for (size_t t = 0; t < vocab.size(); ++t) {
            rows.push_back(vocab[t]);
            dims.push_back(8);
            offsets.push_back(numel);
            numel += vocab[t] * 8;
            field_table.push_back(int64_t(t));
            bags.push_back(1);
            pooling.push_back(DYNREC_POOLING_SUM);
        }
        field_table.push_back(1);  // click sequence over video_id
        bags.push_back(50);
        pooling.push_back(DYNREC_POOLING_MEAN);
        for (int64_t x : bags) slots += x;
        width = int64_t(field_table.size()) * 8;
        w = random_buffer(numel, 1);
        m.assign(size_t(numel), 0.0f);
        v.assign(size_t(numel), 0.0f);
        out.assign(size_t(b * width), 0.0f);
        go = random_buffer(b * width, 2);
        std::mt19937_64 rng(5);
        for (int64_t i = 0; i < b; ++i)
            for (size_t f = 0; f < field_table.size(); ++f)
                for (int64_t k = 0; k < bags[f]; ++k) {
                    const int64_t r = rows[field_table[f]];
                    // Sequences are right-padded: about half of the 50 slots are 0.
                    ids.push_back(bags[f] > 1 && k >= 25 ? 0 : std::uniform_int_distribution<int64_t>(1, r - 1)(rng));
                }
    }
    void run() {
        ++step;
        const int64_t T = int64_t(rows.size()), F = int64_t(field_table.size());
        check(dynrec_tbe_forward(DYNREC_DEVICE_CPU, nullptr, T, rows.data(), dims.data(), offsets.data(), F,
                                 field_table.data(), bags.data(), pooling.data(), w.data(), numel, batch, ids.data(),
                                 out.data(), nullptr, 0));
        check(dynrec_tbe_backward_update(DYNREC_DEVICE_CPU, nullptr, T, rows.data(), dims.data(), offsets.data(), F,
                                         field_table.data(), bags.data(), pooling.data(), w.data(), numel, batch,
                                         ids.data(), go.data(), DYNREC_SPARSE_LAZY_ADAM, 1e-3f, 1e-8f, 0.9f, 0.999f,
                                         step, m.data(), v.data(), nullptr, nullptr, 0));
    }
};

}  // namespace

void add_embedding_cases(std::vector<Case>& cases, bool quick) {
    const std::vector<int64_t> vocabs = quick ? std::vector<int64_t>{10000} : std::vector<int64_t>{10000, 4370000};
    const int64_t batch = quick ? 512 : 4096;
    for (int64_t rows : vocabs) {
        auto buf = std::make_shared<TbeBuffers>(rows, 8, batch);
        const double flops = 12.0 * double(batch) * 8;  // gather + grad + Adam, per element
        cases.push_back({"tbe fwd+lazy-adam update", "B=" + std::to_string(batch) + " V=" + std::to_string(rows) +
                                                         " dim=8",
                         flops, [buf] { buf->run(true); }, [buf] { buf->run(false); }});
    }
    if (quick) return;
    auto pep = std::make_shared<PepNetTbe>(batch);
    cases.push_back({"tbe fwd+lazy-adam update", "PEPNet-like B=4096 21 fields+seq50",
                     12.0 * double(batch) * double(pep->slots) * 8, nullptr, [pep] { pep->run(); }});
}

}  // namespace dynrec_bench

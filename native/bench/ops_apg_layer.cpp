#include "bench.h"
namespace dynrec_bench {
void add_apg_layer_cases(std::vector<Case>&, bool) {}
}

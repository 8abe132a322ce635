#include "bench.h"
namespace dynrec_bench {
void add_epnet_cases(std::vector<Case>&, bool) {}
}

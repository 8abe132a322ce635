// dynrec_elf_weaken: marks one symbol-version requirement of an ELF shared
// object as weak (VER_FLG_WEAK in its .gnu.version_r entry), so the dynamic
// loader treats a missing version as optional instead of refusing to load.
//
// Why: TorchSharp 0.107's libLibTorchSharp.so asks for GLIBCXX_3.4.32 (GCC 13)
// only through std::ios_base_library_init, a marker symbol with no
// relocation against it; Debian 12's libstdc++ stops at 3.4.30. Weakening
// that one requirement lets it load unchanged otherwise.
//
// usage: dynrec_elf_weaken <file.so> <VERSION> [--if-missing]
//   --if-missing: do nothing when the libstdc++ this tool itself runs with
//                 already defines VERSION (the fix is only applied where needed).
// Writes atomically (temp file + rename). Exit 0 on success or nothing to do.
#include <dlfcn.h>
#include <elf.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::vector<char> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

template <typename T>
T* at(std::vector<char>& buf, size_t offset) {
    if (offset + sizeof(T) > buf.size()) throw std::runtime_error("truncated ELF file");
    return reinterpret_cast<T*>(buf.data() + offset);
}

const char* str_at(std::vector<char>& buf, const Elf64_Shdr& strtab, size_t index) {
    const size_t off = strtab.sh_offset + index;
    if (off >= buf.size()) throw std::runtime_error("bad string offset");
    return buf.data() + off;
}

struct Elf {
    std::vector<char>& buf;
    Elf64_Ehdr* eh;
    explicit Elf(std::vector<char>& b) : buf(b), eh(at<Elf64_Ehdr>(b, 0)) {
        if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
            eh->e_ident[EI_DATA] != ELFDATA2LSB)
            throw std::runtime_error("not a 64-bit little-endian ELF file");
    }
    Elf64_Shdr* section(size_t i) { return at<Elf64_Shdr>(buf, eh->e_shoff + i * eh->e_shentsize); }
    Elf64_Shdr* find(uint32_t type) {
        for (size_t i = 0; i < eh->e_shnum; ++i)
            if (section(i)->sh_type == type) return section(i);
        return nullptr;
    }
};

// True when `path` defines symbol version `version` (.gnu.version_d).
bool defines_version(const std::string& path, const std::string& version) {
    std::vector<char> buf = read_file(path);
    Elf elf(buf);
    Elf64_Shdr* vd = elf.find(SHT_GNU_verdef);
    if (!vd) return false;
    Elf64_Shdr strtab = *elf.section(vd->sh_link);
    size_t off = vd->sh_offset;
    for (size_t n = 0; n < vd->sh_info; ++n) {
        auto* def = at<Elf64_Verdef>(buf, off);
        auto* aux = at<Elf64_Verdaux>(buf, off + def->vd_aux);
        if (version == str_at(buf, strtab, aux->vda_name)) return true;
        if (def->vd_next == 0) break;
        off += def->vd_next;
    }
    return false;
}

// Path of the libstdc++ this process runs with.
std::string running_libstdcxx() {
    Dl_info info{};
    void* sym = reinterpret_cast<void*>(&std::terminate);
    if (dladdr(sym, &info) == 0 || info.dli_fname == nullptr) throw std::runtime_error("cannot locate libstdc++");
    return info.dli_fname;
}

int weaken(const std::string& path, const std::string& version) {
    std::vector<char> buf = read_file(path);
    Elf elf(buf);
    Elf64_Shdr* vn = elf.find(SHT_GNU_verneed);
    if (!vn) {
        std::printf("%s: no version requirements, nothing to do\n", path.c_str());
        return 0;
    }
    Elf64_Shdr strtab = *elf.section(vn->sh_link);
    int changed = 0, already = 0;
    size_t off = vn->sh_offset;
    for (size_t n = 0; n < vn->sh_info; ++n) {
        auto* need = at<Elf64_Verneed>(buf, off);
        size_t aoff = off + need->vn_aux;
        for (size_t a = 0; a < need->vn_cnt; ++a) {
            auto* aux = at<Elf64_Vernaux>(buf, aoff);
            if (version == str_at(buf, strtab, aux->vna_name)) {
                if (aux->vna_flags & VER_FLG_WEAK) ++already;
                else { aux->vna_flags = static_cast<Elf64_Half>(aux->vna_flags | VER_FLG_WEAK); ++changed; }
            }
            if (aux->vna_next == 0) break;
            aoff += aux->vna_next;
        }
        if (need->vn_next == 0) break;
        off += need->vn_next;
    }
    if (changed == 0) {
        std::printf("%s: %s %s\n", path.c_str(), version.c_str(), already ? "already weak" : "not required");
        return 0;
    }
    const std::string tmp = path + ".weaken.tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
        if (!out) throw std::runtime_error("cannot write " + tmp);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw std::runtime_error("cannot replace " + path);
    }
    std::printf("%s: marked %s weak\n", path.c_str(), version.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s <file.so> <VERSION> [--if-missing]\n", argv[0]);
        return 2;
    }
    try {
        const std::string file = argv[1], version = argv[2];
        const bool if_missing = argc > 3 && std::strcmp(argv[3], "--if-missing") == 0;
        if (if_missing) {
            const std::string lib = running_libstdcxx();
            if (defines_version(lib, version)) {
                std::printf("%s defines %s: no fix needed\n", lib.c_str(), version.c_str());
                return 0;
            }
        }
        return weaken(file, version);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dynrec_elf_weaken: %s\n", e.what());
        return 1;
    }
}

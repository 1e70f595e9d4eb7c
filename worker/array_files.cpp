// .npy / .npz (libzip) and IDX (zlib) readers.
#include "worker/array_files.h"

#include <zip.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "common/error.h"

namespace hqsweep {

namespace {

struct Dtype {
  char kind;  // b, i, u, f
  int size;   // bytes per value
  bool big_endian;
};

Dtype parse_dtype(const std::string& descr, const std::string& name) {
  if (descr.size() >= 3 &&
      (descr[0] == '<' || descr[0] == '>' || descr[0] == '|' || descr[0] == '=')) {
    const char kind = descr[1];
    const int size = std::atoi(descr.c_str() + 2);
    const bool known =
        (kind == 'b' && size == 1) ||
        ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
        (kind == 'f' && (size == 4 || size == 8));
    if (known) return Dtype{kind, size, descr[0] == '>'};
  }
  throw Error(name + ": unsupported dtype '" + descr +
              "' (expected bool, integers or float32/float64, e.g. '|u1' or '<f4')");
}

double load_value(const unsigned char* bytes, const Dtype& dtype) {
  unsigned char buffer[8] = {};
  const int size = std::clamp(dtype.size, 1, 8);
  for (int i = 0; i < size; ++i) buffer[i] = bytes[dtype.big_endian ? size - 1 - i : i];
  switch (dtype.kind) {
    case 'b':
    case 'u':
      switch (dtype.size) {
        case 1:
          return buffer[0];
        case 2: {
          uint16_t v;
          std::memcpy(&v, buffer, 2);
          return v;
        }
        case 4: {
          uint32_t v;
          std::memcpy(&v, buffer, 4);
          return v;
        }
        default: {
          uint64_t v;
          std::memcpy(&v, buffer, 8);
          return static_cast<double>(v);
        }
      }
    case 'i':
      switch (dtype.size) {
        case 1: {
          int8_t v;
          std::memcpy(&v, buffer, 1);
          return v;
        }
        case 2: {
          int16_t v;
          std::memcpy(&v, buffer, 2);
          return v;
        }
        case 4: {
          int32_t v;
          std::memcpy(&v, buffer, 4);
          return v;
        }
        default: {
          int64_t v;
          std::memcpy(&v, buffer, 8);
          return static_cast<double>(v);
        }
      }
    default:
      if (dtype.size == 4) {
        float v;
        std::memcpy(&v, buffer, 4);
        return v;
      }
      {
        double v;
        std::memcpy(&v, buffer, 8);
        return v;
      }
  }
}

// Bounds on what a file may declare, far above any real data set and below what would exhaust
// memory before the file's own length refutes it.
// NumPy writes headers of a few hundred bytes and its own reader refuses over 10 000
// (numpy.load max_header_size).
constexpr std::size_t kMaxNpyHeaderBytes = 10000;
constexpr int64_t kMaxElements = int64_t{1} << 34;
constexpr uint64_t kMaxMemberBytes = uint64_t{1} << 36;

// The product of the dimensions, refused with the file's name when it overflows or exceeds
// kMaxElements (a header that lies about its sizes).
int64_t checked_element_count(const std::vector<int64_t>& shape, const std::string& name) {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(count, d, &count) || count > kMaxElements) {
      std::string text;
      for (int64_t e : shape) text += (text.empty() ? "" : " x ") + std::to_string(e);
      throw Error(name + ": the header declares " + text + " values, more than " +
                  std::to_string(kMaxElements) + "; the file is damaged or not what it claims");
    }
  }
  return count;
}

// The value of `key` in the header's Python dict literal, as written: a quoted string, True,
// False, or a tuple. A plain scan, linear in the header (a regex recursed on long headers).
std::string header_field(const std::string& header, const std::string& key,
                         const std::string& name) {
  const std::string quoted = "'" + key + "'";
  const std::size_t at = header.find(quoted);
  auto missing = [&] {
    return Error(name + ": .npy header has no '" + key + "' entry: " + header.substr(0, 200));
  };
  if (at == std::string::npos) throw missing();
  std::size_t i = at + quoted.size();
  while (i < header.size() && header[i] == ' ') ++i;
  if (i >= header.size() || header[i] != ':') throw missing();
  ++i;
  while (i < header.size() && header[i] == ' ') ++i;
  if (i >= header.size()) throw missing();
  std::size_t end = std::string::npos;
  if (header[i] == '\'') {
    end = header.find('\'', i + 1);
  } else if (header[i] == '(') {
    end = header.find(')', i + 1);
  } else if (header.compare(i, 4, "True") == 0) {
    end = i + 3;
  } else if (header.compare(i, 5, "False") == 0) {
    end = i + 4;
  }
  if (end == std::string::npos) throw missing();
  return header.substr(i, end - i + 1);
}

// "(28, 28)" or "(546,)" -> dimensions; throws naming the file for anything else.
std::vector<int64_t> parse_shape(const std::string& text, const std::string& name) {
  std::vector<int64_t> shape;
  std::size_t i = 1;  // after '('
  while (i + 1 < text.size()) {
    while (text[i] == ' ' || text[i] == ',') ++i;
    if (i + 1 >= text.size()) break;
    int64_t value = 0;
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (__builtin_mul_overflow(value, 10, &value) ||
          __builtin_add_overflow(value, text[i] - '0', &value)) {
        throw Error(name + ": .npy shape " + text + " has a dimension too large");
      }
      ++i;
    }
    if (i == start) throw Error(name + ": .npy shape " + text + " is not a tuple of sizes");
    shape.push_back(value);
  }
  return shape;
}

std::string zip_message(zip_error_t* error) {
  return zip_error_strerror(error);
}

}  // namespace

int64_t NumericArray::size() const {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  return count;
}

NumericArray parse_npy(const std::string& bytes, const std::string& name) {
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    throw Error(name + ": not a .npy array (no \\x93NUMPY magic)");
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const int major = data[6];
  std::size_t header_length = 0, header_start = 0;
  if (major == 1) {
    header_length = data[8] | (data[9] << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw Error(name + ": truncated .npy header");
    header_length = data[8] | (data[9] << 8) | (data[10] << 16) | (std::size_t{data[11]} << 24);
    header_start = 12;
  } else {
    throw Error(name + ": .npy format version " + std::to_string(major) +
                " is not supported (expected 1, 2 or 3)");
  }
  if (header_length > kMaxNpyHeaderBytes) {
    throw Error(name + ": .npy header of " + std::to_string(header_length) +
                " bytes; NumPy writes a few hundred and reads at most " +
                std::to_string(kMaxNpyHeaderBytes));
  }
  if (header_start + header_length > bytes.size()) throw Error(name + ": truncated .npy header");
  const std::string header = bytes.substr(header_start, header_length);

  NumericArray array;
  std::string descr = header_field(header, "descr", name);
  array.dtype = descr.substr(1, descr.size() - 2);
  const Dtype dtype = parse_dtype(array.dtype, name);
  const bool fortran = header_field(header, "fortran_order", name) == "True";
  const std::string shape = header_field(header, "shape", name);
  array.shape = parse_shape(shape, name);

  const int64_t count = checked_element_count(array.shape, name);
  const std::size_t payload = header_start + header_length;
  const std::size_t needed = static_cast<std::size_t>(count) * static_cast<std::size_t>(dtype.size);
  // count <= kMaxElements and size <= 8: no overflow.
  if (bytes.size() - payload < needed) {
    throw Error(name + ": truncated: shape " + shape + " of " + array.dtype + " needs " +
                std::to_string(needed) + " bytes of data, the file has " +
                std::to_string(bytes.size() - payload));
  }
  array.values.resize(static_cast<std::size_t>(count));
  // C order: element i is at i. Fortran order: the first index varies fastest; convert.
  const std::size_t dims = array.shape.size();
  std::vector<int64_t> index(dims, 0);
  for (int64_t i = 0; i < count; ++i) {
    int64_t source = i;
    if (fortran && dims > 1) {
      source = 0;
      for (std::size_t d = dims; d-- > 0;) source = source * array.shape[d] + index[d];
      for (std::size_t d = dims; d-- > 0;) {  // next C-order index
        if (++index[d] < array.shape[d]) break;
        index[d] = 0;
      }
    }
    array.values[static_cast<std::size_t>(i)] =
        load_value(data + payload + static_cast<std::size_t>(source) * dtype.size, dtype);
  }
  return array;
}

std::map<std::string, NumericArray> read_npz(const std::string& path) {
  int code = 0;
  std::unique_ptr<zip_t, int (*)(zip_t*)> archive(zip_open(path.c_str(), ZIP_RDONLY, &code),
                                                  zip_close);
  if (!archive) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    std::string message = zip_message(&error);
    zip_error_fini(&error);
    throw Error(path + ": cannot open as a .npz (zip) archive: " + message);
  }
  std::map<std::string, NumericArray> arrays;
  const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < entries; ++i) {
    zip_stat_t stat;
    if (zip_stat_index(archive.get(), static_cast<zip_uint64_t>(i), 0, &stat) != 0)
      throw Error(path + ": " + zip_message(zip_get_error(archive.get())));
    if (!(stat.valid & ZIP_STAT_NAME) || stat.name == nullptr || !(stat.valid & ZIP_STAT_SIZE)) {
      throw Error(path + ": entry " + std::to_string(i) +
                  " has no name or size; the archive is "
                  "damaged");
    }
    std::string member = stat.name;
    if (member.size() < 5 || member.compare(member.size() - 4, 4, ".npy") != 0) continue;
    std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> file(
        zip_fopen_index(archive.get(), static_cast<zip_uint64_t>(i), 0), zip_fclose);
    if (!file) {
      throw Error(path + ": member " + member + ": " + zip_message(zip_get_error(archive.get())));
    }
    if (stat.size > kMaxMemberBytes) {
      throw Error(path + ": member " + member + " claims " + std::to_string(stat.size) +
                  " bytes; the archive is damaged or not a data set");
    }
    // Grown as the data arrive, so that a size in the archive's directory that the member does
    // not hold costs no allocation of that size.
    std::string bytes;
    char chunk[1 << 16];
    for (;;) {
      const zip_int64_t got = zip_fread(file.get(), chunk, sizeof chunk);
      if (got < 0) {
        throw Error(path + ": member " + member +
                    " is damaged: " + zip_message(zip_file_get_error(file.get())));
      }
      if (got == 0) break;
      bytes.append(chunk, static_cast<std::size_t>(got));
      if (bytes.size() > stat.size) break;
    }
    if (bytes.size() != stat.size) {
      throw Error(path + ": member " + member + " is damaged: it holds " +
                  std::to_string(bytes.size()) + " bytes, its header says " +
                  std::to_string(stat.size));
    }
    arrays[member.substr(0, member.size() - 4)] = parse_npy(bytes, path + ": " + member);
  }
  return arrays;
}

NumericArray read_idx(const std::string& path) {
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), gzclose);
  if (!file) throw Error(path + ": cannot open: " + std::strerror(errno));
  auto read = [&](void* buffer, unsigned size) {
    int got = gzread(file.get(), buffer, size);
    if (got < 0) {
      int code = 0;
      throw Error(path + ": " + gzerror(file.get(), &code));
    }
    return static_cast<unsigned>(got);
  };
  unsigned char magic[4];
  if (read(magic, 4) != 4 || magic[0] != 0 || magic[1] != 0)
    throw Error(path + ": not an IDX file (bad magic number)");
  if (magic[2] != 0x08)
    throw Error(path + ": IDX element type 0x" + std::to_string(magic[2]) +
                " is not supported (expected 0x08, unsigned bytes)");
  NumericArray array;
  array.dtype = "u1";
  for (int d = 0; d < magic[3]; ++d) {
    unsigned char size[4];
    if (read(size, 4) != 4) throw Error(path + ": truncated IDX header");
    array.shape.push_back((int64_t{size[0]} << 24) | (size[1] << 16) | (size[2] << 8) | size[3]);
  }
  // Read in chunks, so that a header promising more than the file holds ends as "truncated"
  // instead of allocating what it promises first.
  const int64_t count = checked_element_count(array.shape, path);
  std::vector<unsigned char> chunk(1 << 20);
  array.values.reserve(static_cast<std::size_t>(std::min<int64_t>(count, 1 << 24)));
  for (int64_t left = count; left > 0;) {
    const auto want = static_cast<unsigned>(std::min<int64_t>(left, chunk.size()));
    const unsigned got = read(chunk.data(), want);
    array.values.insert(array.values.end(), chunk.begin(), chunk.begin() + got);
    if (got < want) {
      throw Error(path + ": truncated: the header promises " + std::to_string(count) +
                  " values, the file holds " + std::to_string(array.values.size()));
    }
    left -= got;
  }
  return array;
}

}  // namespace hqsweep

// Reading numeric arrays from the files real data sets come in: NumPy .npy and .npz (MedMNIST),
// and IDX (MNIST, Fashion-MNIST; gzip or plain). Errors name the file (and archive member) and
// what is wrong with it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hqsweep {

// An n-dimensional array in C (row-major) order, values converted to double.
struct NumericArray {
  std::string dtype;  // as stored: NumPy's descr ("|u1", "<f4", ...) or "u1" for IDX
  std::vector<int64_t> shape;
  std::vector<double> values;
  int64_t size() const;
};

// Parses one .npy file's bytes (versions 1-3; bool, signed/unsigned integers and floats of either
// byte order; Fortran order is converted). `name` is used in error messages.
NumericArray parse_npy(const std::string& bytes, const std::string& name);
// Every .npy member of an .npz archive (stored or deflated), keyed by name without ".npy".
std::map<std::string, NumericArray> read_npz(const std::string& path);
// An IDX file (gzip-compressed or plain): unsigned byte arrays as MNIST stores them.
NumericArray read_idx(const std::string& path);

}  // namespace hqsweep

#include <kinv/core/error.hpp>
#include <kinv/optim/options.hpp>

#include <algorithm>
#include <cctype>

namespace kinv {

LeastSquaresSolver parse_least_squares_solver(const std::string& name) {
  std::string s = name;
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (s == "cg") return LeastSquaresSolver::CG;
  if (s == "bicgstab") return LeastSquaresSolver::BiCGStab;
  if (s == "lsqr") return LeastSquaresSolver::LSQR;
  if (s == "minres") return LeastSquaresSolver::MINRES;
  throw ValueError("unknown least-squares solver '" + name +
                   "': expected one of \"CG\", \"BiCGStab\", \"lsqr\", \"minres\"");
}

std::string to_string(LeastSquaresSolver solver) {
  switch (solver) {
    case LeastSquaresSolver::CG:
      return "CG";
    case LeastSquaresSolver::BiCGStab:
      return "BiCGStab";
    case LeastSquaresSolver::LSQR:
      return "lsqr";
    case LeastSquaresSolver::MINRES:
      return "minres";
  }
  throw ValueError("invalid LeastSquaresSolver value " + std::to_string(static_cast<int>(solver)));
}

}  // namespace kinv

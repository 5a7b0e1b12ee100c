// psfid's N-API addon over libtorch: the only C++ in the project.
//
// Design (see ../shared/DESIGN.md for the measurements behind it):
// - Tensors live in a native handle table; JavaScript holds plain integer handles. This avoids one ObjectWrap shell
//   per tensor, which fragmented glibc's heap between multi-MB buffers and let RSS grow without bound.
// - One generic entry, `call(opId, args)`, runs any ATen operator through the dispatcher (boxed), so autograd, CPU
//   and CUDA kernels come for free. Arguments are converted from JavaScript by the operator's own schema.
// - Every libtorch error becomes a JavaScript Error carrying libtorch's message (without its C++ backtrace); the
//   process never aborts on a bad call.
#include <napi.h>

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/generated/variable_factories.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <dlfcn.h>
#include <malloc.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Handle tables
// ---------------------------------------------------------------------------------------------------------------

std::vector<at::Tensor> g_tensors;
std::vector<int32_t> g_freeTensors;
int64_t g_liveTensors = 0;

std::vector<at::Generator> g_generators;
std::vector<int32_t> g_freeGenerators;

std::vector<c10::OperatorHandle> g_ops;

int32_t storeTensor(at::Tensor t) {
  g_liveTensors++;
  if (!g_freeTensors.empty()) {
    int32_t h = g_freeTensors.back();
    g_freeTensors.pop_back();
    g_tensors[h] = std::move(t);
    return h;
  }
  g_tensors.push_back(std::move(t));
  return static_cast<int32_t>(g_tensors.size() - 1);
}

struct UserError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct ArgTypeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const at::Tensor& tensorAt(int64_t h) {
  if (h < 0 || h >= static_cast<int64_t>(g_tensors.size()) || !g_tensors[h].defined()) {
    throw UserError("psfid engine: tensor handle " + std::to_string(h) + " is not live (disposed?)");
  }
  return g_tensors[h];
}

at::Generator& generatorAt(int64_t h) {
  if (h < 0 || h >= static_cast<int64_t>(g_generators.size()) || !g_generators[h].defined()) {
    throw UserError("psfid engine: generator handle " + std::to_string(h) + " is not live");
  }
  return g_generators[h];
}

// Runs `body`, turning every C++ exception into a JavaScript exception. Returns undefined on error.
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, F body) {
  Napi::Env env = info.Env();
  try {
    return body(env);
  } catch (const c10::Error& e) {
    Napi::Error::New(env, e.what_without_backtrace()).ThrowAsJavaScriptException();
  } catch (const ArgTypeError& e) {
    Napi::TypeError::New(env, e.what()).ThrowAsJavaScriptException();
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  } catch (const std::exception& e) {
    Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

int64_t toInt(const Napi::Value& v, const std::string& what) {
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d != static_cast<double>(static_cast<int64_t>(d))) throw ArgTypeError(what + ": expected an integer, got " + std::to_string(d));
    return static_cast<int64_t>(d);
  }
  if (v.IsBigInt()) {
    bool lossless = true;
    return v.As<Napi::BigInt>().Int64Value(&lossless);
  }
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  throw ArgTypeError(what + ": expected an integer");
}

double toDouble(const Napi::Value& v, const std::string& what) {
  if (v.IsNumber()) return v.As<Napi::Number>().DoubleValue();
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1.0 : 0.0;
  throw ArgTypeError(what + ": expected a number");
}

bool toBool(const Napi::Value& v, const std::string& what) {
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value();
  if (v.IsNumber()) return v.As<Napi::Number>().DoubleValue() != 0;
  throw ArgTypeError(what + ": expected a boolean");
}

// A tensor argument is passed from JavaScript as its integer handle.
const at::Tensor& toTensor(const Napi::Value& v, const std::string& what) {
  if (!v.IsNumber()) throw ArgTypeError(what + ": expected a tensor handle");
  return tensorAt(v.As<Napi::Number>().Int64Value());
}

c10::IValue toIValue(const Napi::Value& v, const c10::TypePtr& type, const std::string& what, int64_t fixedLength);

c10::IValue listToIValue(const Napi::Value& v, const c10::TypePtr& elem, const std::string& what, int64_t fixedLength) {
  // A lone number for a fixed-length int list (e.g. `int[2] stride`) is repeated, as TorchScript does.
  std::vector<Napi::Value> items;
  if (v.IsArray()) {
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) items.push_back(a.Get(i));
  } else if (v.IsNumber() && fixedLength > 0) {
    for (int64_t i = 0; i < fixedLength; i++) items.push_back(v);
  } else {
    throw ArgTypeError(what + ": expected an array");
  }
  switch (elem->kind()) {
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType: {
      c10::List<int64_t> out;
      for (auto& x : items) out.push_back(toInt(x, what));
      return out;
    }
    case c10::TypeKind::FloatType: {
      c10::List<double> out;
      for (auto& x : items) out.push_back(toDouble(x, what));
      return out;
    }
    case c10::TypeKind::BoolType: {
      c10::List<bool> out;
      for (auto& x : items) out.push_back(toBool(x, what));
      return out;
    }
    case c10::TypeKind::TensorType: {
      c10::List<at::Tensor> out;
      for (auto& x : items) out.push_back(toTensor(x, what));
      return out;
    }
    case c10::TypeKind::OptionalType: {
      c10::List<c10::optional<at::Tensor>> out;
      for (auto& x : items) {
        if (x.IsNull() || x.IsUndefined()) out.push_back(c10::nullopt);
        else out.push_back(toTensor(x, what));
      }
      return out;
    }
    default:
      throw UserError(what + ": unsupported list element type " + elem->str());
  }
}

c10::IValue toIValue(const Napi::Value& v, const c10::TypePtr& type, const std::string& what, int64_t fixedLength) {
  switch (type->kind()) {
    case c10::TypeKind::OptionalType:
      if (v.IsNull() || v.IsUndefined()) return c10::IValue();
      return toIValue(v, type->castRaw<c10::OptionalType>()->getElementType(), what, fixedLength);
    case c10::TypeKind::TensorType:
      return toTensor(v, what);
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
      return toInt(v, what);
    case c10::TypeKind::FloatType:
      return toDouble(v, what);
    case c10::TypeKind::BoolType:
      return toBool(v, what);
    case c10::TypeKind::NumberType:  // Scalar: integers stay integers so that integer tensors keep their dtype.
      if (v.IsBoolean()) return c10::IValue(at::Scalar(v.As<Napi::Boolean>().Value()));
      if (v.IsNumber()) {
        double d = v.As<Napi::Number>().DoubleValue();
        if (std::abs(d) < 9.0e15 && d == static_cast<double>(static_cast<int64_t>(d))) return c10::IValue(at::Scalar(static_cast<int64_t>(d)));
        return c10::IValue(at::Scalar(d));
      }
      throw ArgTypeError(what + ": expected a number");
    case c10::TypeKind::StringType:
      if (!v.IsString()) throw ArgTypeError(what + ": expected a string");
      return c10::IValue(v.As<Napi::String>().Utf8Value());
    case c10::TypeKind::DeviceObjType:
      if (!v.IsString()) throw ArgTypeError(what + ": expected a device string");
      return c10::IValue(c10::Device(v.As<Napi::String>().Utf8Value()));
    case c10::TypeKind::GeneratorType:
      if (!v.IsNumber()) throw ArgTypeError(what + ": expected a generator handle");
      return c10::IValue(generatorAt(v.As<Napi::Number>().Int64Value()));
    case c10::TypeKind::ListType:
      return listToIValue(v, type->castRaw<c10::ListType>()->getElementType(), what, fixedLength);
    default:
      throw UserError(what + ": unsupported argument type " + type->str());
  }
}

Napi::Value fromIValue(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) {
    const at::Tensor& t = v.toTensor();
    if (!t.defined()) return env.Null();
    return Napi::Number::New(env, storeTensor(t));
  }
  if (v.isNone()) return env.Null();
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isTensorList()) {
    auto list = v.toTensorList();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(i, fromIValue(env, c10::IValue(list.get(i))));
    return out;
  }
  if (v.isIntList()) {
    auto list = v.toIntList();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(i, Napi::Number::New(env, static_cast<double>(list.get(i))));
    return out;
  }
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    Napi::Array out = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); i++) out.Set(i, fromIValue(env, elems[i]));
    return out;
  }
  if (v.isList()) {
    auto list = v.toListRef();
    Napi::Array out = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) out.Set(i, fromIValue(env, list[i]));
    return out;
  }
  if (v.isScalar()) return Napi::Number::New(env, v.toScalar().toDouble());
  throw UserError("psfid engine: cannot return a value of type " + v.tagKind());
}

// ---------------------------------------------------------------------------------------------------------------
// Operators
// ---------------------------------------------------------------------------------------------------------------

// op(name, overload) -> id. Resolve once; call many times.
Napi::Value Op(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    std::string name = info[0].As<Napi::String>().Utf8Value();
    std::string overload = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
    if (!handle.has_value()) throw UserError("psfid engine: no operator " + name + (overload.empty() ? "" : "." + overload) + " in this libtorch");
    g_ops.push_back(*handle);
    return Napi::Number::New(env, static_cast<double>(g_ops.size() - 1));
  });
}

Napi::Value OpSchema(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    int64_t id = info[0].As<Napi::Number>().Int64Value();
    std::ostringstream s;
    s << g_ops.at(id).schema();
    return Napi::String::New(env, s.str());
  });
}

// call(opId, args[], discardResult?) -> result (a single value, or an array for several returns).
Napi::Value Call(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    int64_t id = info[0].As<Napi::Number>().Int64Value();
    if (id < 0 || id >= static_cast<int64_t>(g_ops.size())) throw UserError("psfid engine: bad operator id");
    const c10::OperatorHandle& op = g_ops[id];
    const auto& schema = op.schema();
    const auto& params = schema.arguments();
    Napi::Array args = info[1].As<Napi::Array>();
    bool discard = info.Length() > 2 && info[2].ToBoolean().Value();
    uint32_t given = args.Length();
    if (given > params.size()) throw ArgTypeError(schema.name() + ": too many arguments (" + std::to_string(given) + " for " + std::to_string(params.size()) + ")");
    torch::jit::Stack stack;
    stack.reserve(params.size());
    for (size_t i = 0; i < params.size(); i++) {
      const auto& p = params[i];
      Napi::Value v = i < given ? args.Get(static_cast<uint32_t>(i)) : env.Undefined();
      if (v.IsUndefined()) {
        if (p.default_value().has_value()) {
          stack.push_back(*p.default_value());
        } else if (p.type()->kind() == c10::TypeKind::OptionalType) {
          stack.emplace_back();
        } else {
          throw ArgTypeError(schema.name() + ": missing argument '" + p.name() + "'");
        }
        continue;
      }
      stack.push_back(toIValue(v, p.type(), schema.name() + " argument '" + p.name() + "'", p.N().value_or(0)));
    }
    op.callBoxed(&stack);
    if (discard) return env.Undefined();
    if (stack.size() == 1) return fromIValue(env, stack[0]);
    Napi::Array out = Napi::Array::New(env, stack.size());
    for (size_t i = 0; i < stack.size(); i++) out.Set(static_cast<uint32_t>(i), fromIValue(env, stack[i]));
    return out;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Tensors: lifetime, data, metadata
// ---------------------------------------------------------------------------------------------------------------

Napi::Value Release(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    auto releaseOne = [](int64_t h) {
      if (h < 0 || h >= static_cast<int64_t>(g_tensors.size()) || !g_tensors[h].defined()) return;
      g_tensors[h] = at::Tensor();
      g_freeTensors.push_back(static_cast<int32_t>(h));
      g_liveTensors--;
    };
    if (info[0].IsNumber()) {
      releaseOne(info[0].As<Napi::Number>().Int64Value());
    } else if (info[0].IsTypedArray()) {
      Napi::Int32Array a = info[0].As<Napi::Int32Array>();
      for (size_t i = 0; i < a.ElementLength(); i++) releaseOne(a[i]);
    } else if (info[0].IsArray()) {
      Napi::Array a = info[0].As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) releaseOne(a.Get(i).As<Napi::Number>().Int64Value());
    }
    return env.Undefined();
  });
}

Napi::Value LiveTensors(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(g_liveTensors));
}

// dtype codes are c10::ScalarType values (Float = 6, Double = 7, Int = 3, Long = 4, Bool = 11, ComplexFloat = 9, ...).
Napi::Value FromData(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    if (!info[0].IsTypedArray()) throw ArgTypeError("fromData: expected a typed array");
    Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
    Napi::Array shapeJs = info[1].As<Napi::Array>();
    auto dtype = static_cast<at::ScalarType>(info[2].As<Napi::Number>().Int32Value());
    std::vector<int64_t> shape;
    int64_t numel = 1;
    for (uint32_t i = 0; i < shapeJs.Length(); i++) {
      int64_t d = toInt(shapeJs.Get(i), "fromData shape");
      if (d < 0) throw ArgTypeError("fromData: negative dimension");
      shape.push_back(d);
      numel *= d;
    }
    size_t itemBytes = c10::elementSize(dtype);
    if (static_cast<size_t>(numel) * itemBytes != ta.ByteLength()) {
      throw ArgTypeError("fromData: " + std::to_string(ta.ByteLength()) + " bytes do not fill shape of " + std::to_string(numel) + " elements of " + std::to_string(itemBytes) + " bytes");
    }
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (numel > 0) {
      auto* base = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      std::memcpy(t.data_ptr(), base, ta.ByteLength());
    }
    return Napi::Number::New(env, storeTensor(t));
  });
}

// toData(h) -> ArrayBuffer holding a contiguous CPU copy of the tensor's elements.
Napi::Value ToData(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::Tensor t = tensorAt(info[0].As<Napi::Number>().Int64Value());
    at::NoGradGuard noGrad;
    t = t.detach().to(at::kCPU).contiguous();
    if (t.is_conj()) t = t.resolve_conj();
    if (t.is_neg()) t = t.resolve_neg();
    size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, bytes);
    if (bytes > 0) std::memcpy(buf.Data(), t.data_ptr(), bytes);
    return buf;
  });
}

Napi::Value Shape(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    const at::Tensor& t = tensorAt(info[0].As<Napi::Number>().Int64Value());
    auto sizes = t.sizes();
    Napi::Array out = Napi::Array::New(env, sizes.size());
    for (size_t i = 0; i < sizes.size(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(sizes[i])));
    return out;
  });
}

Napi::Value Dtype(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    return Napi::Number::New(env, static_cast<int>(tensorAt(info[0].As<Napi::Number>().Int64Value()).scalar_type()));
  });
}

Napi::Value DeviceOf(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    return Napi::String::New(env, tensorAt(info[0].As<Napi::Number>().Int64Value()).device().str());
  });
}

Napi::Value Item(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    const at::Tensor& t = tensorAt(info[0].As<Napi::Number>().Int64Value());
    if (t.numel() != 1) throw UserError("item: tensor has " + std::to_string(t.numel()) + " elements, expected 1");
    if (t.scalar_type() == at::kBool) return Napi::Boolean::New(env, t.item<bool>());
    return Napi::Number::New(env, t.item<double>());
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Autograd
// ---------------------------------------------------------------------------------------------------------------

// backward(handles[], gradHandles[] | null, retainGraph, createGraph)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    Napi::Array hs = info[0].As<Napi::Array>();
    std::vector<at::Tensor> outputs, grads;
    for (uint32_t i = 0; i < hs.Length(); i++) outputs.push_back(toTensor(hs.Get(i), "backward"));
    if (info[1].IsArray()) {
      Napi::Array gs = info[1].As<Napi::Array>();
      for (uint32_t i = 0; i < gs.Length(); i++) grads.push_back(toTensor(gs.Get(i), "backward grad"));
    }
    bool retain = info.Length() > 2 && info[2].ToBoolean().Value();
    bool create = info.Length() > 3 && info[3].ToBoolean().Value();
    torch::autograd::backward(outputs, grads, retain, create);
    return env.Undefined();
  });
}

Napi::Value Grad(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    const at::Tensor& t = tensorAt(info[0].As<Napi::Number>().Int64Value());
    const at::Tensor& g = t.grad();
    if (!g.defined()) return env.Null();
    return Napi::Number::New(env, storeTensor(g));
  });
}

Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::Tensor t = tensorAt(info[0].As<Napi::Number>().Int64Value());
    if (info[1].IsNull() || info[1].IsUndefined()) t.mutable_grad() = at::Tensor();
    else t.mutable_grad() = toTensor(info[1], "setGrad");
    return env.Undefined();
  });
}

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::Tensor t = tensorAt(info[0].As<Napi::Number>().Int64Value());
    t.set_requires_grad(info[1].ToBoolean().Value());
    return env.Undefined();
  });
}

Napi::Value RequiresGrad(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    return Napi::Boolean::New(env, tensorAt(info[0].As<Napi::Number>().Int64Value()).requires_grad());
  });
}

Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  c10::GradMode::set_enabled(info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
}

// ---------------------------------------------------------------------------------------------------------------
// Random generators (CPU ones, and forks on a device: see ForkGenerator)
// ---------------------------------------------------------------------------------------------------------------

// Keeps a generator alive under a new handle (reusing a released one).
int32_t storeGenerator(const at::Generator& g) {
  if (!g_freeGenerators.empty()) {
    const int32_t h = g_freeGenerators.back();
    g_freeGenerators.pop_back();
    g_generators[h] = g;
    return h;
  }
  g_generators.push_back(g);
  return static_cast<int32_t>(g_generators.size() - 1);
}

Napi::Value NewGenerator(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    uint64_t seed = static_cast<uint64_t>(toInt(info[0], "generator seed"));
    at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
    return Napi::Number::New(env, storeGenerator(g));
  });
}

// forkGenerator(parentHandle, device) -> handle of a new generator on `device` ('cpu', 'cuda', 'cuda:N'), seeded with
// one 64-bit draw of the parent (a CPU generator, under its lock), so the parent's state still determines everything.
// A CUDA generator is a clone of that device's default generator (its Philox engine) with the new seed: it lets the
// acquisition draw its noise on the GPU instead of drawing on the CPU and copying (src/acquisition/acquire.ts).
Napi::Value ForkGenerator(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::Generator& parent = generatorAt(toInt(info[0], "forkGenerator parent"));
    if (!info[1].IsString()) throw ArgTypeError("forkGenerator: expected a device string");
    const c10::Device device(info[1].As<Napi::String>().Utf8Value());
    uint64_t seed;
    {
      std::lock_guard<std::mutex> lock(parent.mutex());
      seed = at::check_generator<at::CPUGeneratorImpl>(parent)->random64();
    }
    at::Generator g;
    if (device.is_cpu()) {
      g = at::make_generator<at::CPUGeneratorImpl>(seed);
    } else {
      at::Generator base = at::globalContext().defaultGenerator(device);  // shares the default generator (a handle)
      {
        std::lock_guard<std::mutex> lock(base.mutex());
        g = base.clone();
      }
      std::lock_guard<std::mutex> lock(g.mutex());
      g.set_current_seed(seed);
    }
    return Napi::Number::New(env, storeGenerator(g));
  });
}

// The device a generator draws on ('cpu', 'cuda:0', …).
Napi::Value GeneratorDevice(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    return Napi::String::New(env, generatorAt(toInt(info[0], "generator")).device().str());
  });
}

Napi::Value ReleaseGenerator(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    int64_t h = info[0].As<Napi::Number>().Int64Value();
    generatorAt(h);
    g_generators[h] = at::Generator();
    g_freeGenerators.push_back(static_cast<int32_t>(h));
    return env.Undefined();
  });
}

// The generator's full state as bytes, for checkpoints.
Napi::Value GeneratorState(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::Generator& g = generatorAt(info[0].As<Napi::Number>().Int64Value());
    at::Tensor state;
    {
      std::lock_guard<std::mutex> lock(g.mutex());
      state = g.get_state();
    }
    Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::Copy(env, state.data_ptr<uint8_t>(), state.numel());
    return out;
  });
}

Napi::Value SetGeneratorState(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::Generator& g = generatorAt(info[0].As<Napi::Number>().Int64Value());
    Napi::Uint8Array bytes = info[1].As<Napi::Uint8Array>();
    at::Tensor state = at::empty({static_cast<int64_t>(bytes.ElementLength())}, at::kByte);
    std::memcpy(state.data_ptr(), bytes.Data(), bytes.ElementLength());
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_state(state);
    return env.Undefined();
  });
}

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::manual_seed(static_cast<uint64_t>(toInt(info[0], "seed")));
    return env.Undefined();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Exact Poisson sampling on the CPU
// ---------------------------------------------------------------------------------------------------------------
//
// torch.poisson on the CPU is one serial loop over the locked mt19937 (~78 ns/sample on the development VM); in the
// acquisition chain it is two thirds of the time. This sampler draws from the same distribution, exactly (no normal
// approximation), faster and in parallel:
// - Randomness: each call takes one 64-bit word from the psfid Generator (under its lock), so the Generator's state
//   still determines everything (checkpoints and --resume stay exact). The tensor is cut into fixed blocks of
//   kPoissonBlock elements; block b draws from its own xoshiro256++ stream (Blackman & Vigna), whose 256-bit state is
//   four SplitMix64 outputs started at key + (b + 1)·kBlockStride. The blocks are independent, so at::parallel_for may
//   hand them to any number of threads: the samples never depend on the thread count.
// - λ < 10: inversion by sequential search from 0 (F(k) = Σ e^−λ λ^j/j!), one uniform per sample.
// - λ ≥ 10: PTRS, Hörmann's transformed rejection with squeeze (W. Hörmann, "The transformed rejection method for
//   generating Poisson random variables", Insurance: Mathematics and Economics 12 (1993) 39–45), written from the
//   paper's description: about 1.1 uniform pairs per sample; the squeeze accepts 35–85 % of the samples (more as λ
//   grows) without a logarithm, the others take the exact test on log p(k) (see logPoissonPmf).
// Rates must be finite, ≥ 0 and ≤ kPoissonMaxRate (beyond it double rounding would blur the unit spacing of k).
// Same dtype (float32/float64) and shape as the rates; never records gradients.

constexpr int64_t kPoissonBlock = 4096;
constexpr uint64_t kBlockStride = 0xD1B54A32D192ED03ull;  // odd; spreads the block seeds over SplitMix64's orbit
constexpr double kPoissonMaxRate = 1e15;

inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// SplitMix64 (Steele, Lea & Flood 2014), used only to fill xoshiro's state.
inline uint64_t splitMix64(uint64_t& x) {
  x += 0x9E3779B97F4A7C15ull;
  uint64_t z = x;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// xoshiro256++ (Blackman & Vigna 2018): period 2^256 − 1, ~1 ns per 64-bit word.
struct Xoshiro256pp {
  uint64_t s[4];
  Xoshiro256pp(uint64_t key, uint64_t block) {
    uint64_t x = key + (block + 1) * kBlockStride;
    for (auto& w : s) w = splitMix64(x);
  }
  uint64_t next() {
    const uint64_t out = rotl64(s[0] + s[3], 23) + s[0];
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return out;
  }
  // Uniform on the open interval (0, 1): the 53-bit grid shifted by half a step (never 0, never 1).
  double open01() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
};

// Tables, built once: 1/k for the inversion's recurrence p(k) = p(k−1)·λ/k (a multiply instead of a divide), and
// log k! for the PTRS acceptance test (exact sums of logs).
constexpr int kInversionMaxK = 256;
constexpr int kLogFactorialTable = 2048;
struct PoissonTables {
  double inv[kInversionMaxK + 1];
  double logFactorial[kLogFactorialTable];
  PoissonTables() {
    inv[0] = 0;
    for (int k = 1; k <= kInversionMaxK; k++) inv[k] = 1.0 / k;
    logFactorial[0] = 0;
    for (int k = 1; k < kLogFactorialTable; k++) logFactorial[k] = logFactorial[k - 1] + std::log(static_cast<double>(k));
  }
};
const PoissonTables g_poissonTables;

// log p(k) for the Poisson pmf at k ≥ 0, rate mu ≥ 10 (logMu = log mu). Below the table's end, k log μ − μ − log k!:
// its absolute error, ~1e-16·(k log μ + μ), is below 1e-11 wherever the decision can depend on it (step 4's left side
// is above −150, and for k < 2048 log p(k) > −150 needs μ < ~3000). Beyond it, Loader's saddle-point form −½ log(2πk) − stirlerr(k) −
// bd0(k, μ), where stirlerr(k) = log k! − [(k + ½) log k − k + ½ log 2π] is the Stirling series 1/12k − 1/360k³ +
// 1/1260k⁵ − 1/1680k⁷ (next term < 1e-25 for k ≥ 2048), and bd0 = k log(k/μ) + μ − k = μ·((1 + t) log1p(t) − t)
// with t = (k − μ)/μ, whose absolute error is ~1e-16·|k − μ| rather than ~1e-16·k log k.
inline double logPoissonPmf(int64_t k, double mu, double logMu) {
  if (k < kLogFactorialTable) return static_cast<double>(k) * logMu - mu - g_poissonTables.logFactorial[k];
  const double kd = static_cast<double>(k);
  const double r = 1.0 / kd, r2 = r * r;
  const double stirlerr = r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680))));
  const double t = (kd - mu) / mu;
  const double bd0 = mu * ((1.0 + t) * std::log1p(t) - t);
  return -0.5 * std::log(2 * M_PI * kd) - stirlerr - bd0;
}

// λ in (0, 10): inversion, starting from the uniform u. F accumulates in double; if rounding keeps F below u all
// the way to kInversionMaxK (a probability near 1e-16), a new u is drawn.
inline double poissonInversion(double mu, double u, Xoshiro256pp& r) {
  const double p0 = std::exp(-mu);
  for (;;) {
    double p = p0, f = p0;
    int k = 0;
    while (u > f && k < kInversionMaxK) {
      k++;
      p *= mu * g_poissonTables.inv[k];
      f += p;
    }
    if (u <= f) return k;
    u = r.open01();
  }
}

// PTRS (λ ≥ 10), in the paper's steps, for one attempt with uniforms U ~ U(−½, ½), V ~ U(0, 1):
//   (1) us = ½ − |U|, k = ⌊(2a/us + b)·U + λ + 0.43⌋;
//   (2) accept k if us ≥ 0.07 and V ≤ v_r (the squeeze);
//   (3) reject if k < 0, or if us < 0.013 and V > us;
//   (4) accept k if log(V·α⁻¹/(a/us² + b)) ≤ log p(k), else reject;
// with b = 0.931 + 2.53√λ, a = −0.059 + 0.02483·b, α⁻¹ = 1.1239 + 1.1328/(b − 3.4), v_r = 0.9277 − 3.6224/(b − 2)
// (the paper's constants; its hat is shown to dominate the pmf for λ ≥ 10). A rejected element takes a new attempt.
// The squeeze v ≤ v_r is evaluated multiplied out by b − 2 > 0 (no division). k ≥ 4·kPoissonMaxRate is rejected
// too: p(k) underflows to 0 there for every allowed λ (this also keeps k in an int64).

// ⌊x⌋ for 0 ≤ x < 2^52 without a libm call: adding and removing 2^52 rounds to the nearest integer.
inline double floorNonNegative(double x) {
  const double t = (x + 0x1.0p52) - 0x1.0p52;
  return t > x ? t - 1.0 : t;
}

enum PtrsOutcome : uint8_t { kPtrsAccept = 0, kPtrsReject = 1, kPtrsTest = 2 };

// Steps (1)–(3) for one element: writes k (when accepted or to be tested) and returns what happened.
inline PtrsOutcome ptrsSteps123(double mu, double u, double v, double& k) {
  const double b = 0.931 + 2.53 * std::sqrt(mu);
  const double a = -0.059 + 0.02483 * b;
  const double us = 0.5 - std::fabs(u);
  const double x = (2.0 * a / us + b) * u + mu + 0.43;
  const bool inRange = x >= 0.0 && x < 4.0 * kPoissonMaxRate;
  const bool squeeze = us >= 0.07 && v * (b - 2.0) <= 0.9277 * (b - 2.0) - 3.6224;
  k = inRange ? floorNonNegative(x) : 0.0;
  if (inRange && squeeze) return kPtrsAccept;
  if (!inRange || (us < 0.013 && v > us)) return kPtrsReject;
  return kPtrsTest;
}

#if defined(__SSE2__)
// ptrsSteps123 for two elements, without branches: the same operations in the same order, so the same results (IEEE
// add, multiply, divide and square root are correctly rounded in SSE2 as in scalar code).
inline void ptrsSteps123x2(const double* mu2, const double* u2, const double* v2, double* k2, uint8_t* outcome2) {
  const __m128d mu = _mm_loadu_pd(mu2);
  const __m128d b = _mm_add_pd(_mm_set1_pd(0.931), _mm_mul_pd(_mm_set1_pd(2.53), _mm_sqrt_pd(mu)));
  const __m128d a = _mm_add_pd(_mm_set1_pd(-0.059), _mm_mul_pd(_mm_set1_pd(0.02483), b));
  const __m128d u = _mm_loadu_pd(u2), v = _mm_loadu_pd(v2);
  const __m128d us = _mm_sub_pd(_mm_set1_pd(0.5), _mm_andnot_pd(_mm_set1_pd(-0.0), u));
  const __m128d x = _mm_add_pd(_mm_add_pd(_mm_mul_pd(_mm_add_pd(_mm_div_pd(_mm_mul_pd(_mm_set1_pd(2.0), a), us), b), u), mu), _mm_set1_pd(0.43));
  const __m128d inRange = _mm_and_pd(_mm_cmpge_pd(x, _mm_setzero_pd()), _mm_cmplt_pd(x, _mm_set1_pd(4.0 * kPoissonMaxRate)));
  const __m128d bm2 = _mm_sub_pd(b, _mm_set1_pd(2.0));
  const __m128d squeeze = _mm_and_pd(_mm_cmpge_pd(us, _mm_set1_pd(0.07)),
                                     _mm_cmple_pd(_mm_mul_pd(v, bm2), _mm_sub_pd(_mm_mul_pd(_mm_set1_pd(0.9277), bm2), _mm_set1_pd(3.6224))));
  const __m128d tail = _mm_and_pd(_mm_cmplt_pd(us, _mm_set1_pd(0.013)), _mm_cmpgt_pd(v, us));
  const __m128d t = _mm_sub_pd(_mm_add_pd(x, _mm_set1_pd(0x1.0p52)), _mm_set1_pd(0x1.0p52));
  const __m128d k = _mm_sub_pd(t, _mm_and_pd(_mm_cmpgt_pd(t, x), _mm_set1_pd(1.0)));
  _mm_storeu_pd(k2, _mm_and_pd(inRange, k));
  const int in = _mm_movemask_pd(inRange), sq = _mm_movemask_pd(squeeze), tl = _mm_movemask_pd(tail);
  for (int lane = 0; lane < 2; lane++) {
    const int bit = 1 << lane;
    const bool accept = (in & sq & bit) != 0, reject = !(in & bit) || (tl & bit);
    outcome2[lane] = accept ? kPtrsAccept : reject ? kPtrsReject : kPtrsTest;
  }
}
#endif

// Step (4) for one element whose steps (1)–(3) gave kPtrsTest.
inline bool ptrsStep4(double mu, double u, double v, double k) {
  const double b = 0.931 + 2.53 * std::sqrt(mu);
  const double a = -0.059 + 0.02483 * b;
  const double us = 0.5 - std::fabs(u);
  const double invAlpha = 1.1239 + 1.1328 / (b - 3.4);
  return std::log(v * invAlpha / (a / (us * us) + b)) <= logPoissonPmf(static_cast<int64_t>(k), mu, std::log(mu));
}

// One block, in batches of kPoissonBatch elements:
//   (1) sort the elements, without branches, into those for PTRS (10 ≤ λ ≤ kPoissonMaxRate) and the others;
//   (2) PTRS for all of them at once, in rounds: draw a (U, V) pair for every element still pending, run steps
//       (1)–(3) for all of them without branches (two at a time with SSE2), then step (4) for those that need it;
//       the rejected ones are pending for the next round (on average ~0.15 rounds more per element);
//   (3) the others: λ = 0 gives 0 (no draw), 0 < λ < 10 inversion, anything else is an error.
// The order of the draws is fixed by the rates, so the samples depend only on the rates, the key and the block.
constexpr int kPoissonBatch = 256;

template <typename T>
void poissonBlock(const T* in, T* out, int64_t n, Xoshiro256pp& r, std::atomic<bool>& bad) {
  double mus[kPoissonBatch], us_[kPoissonBatch], vs[kPoissonBatch], ks[kPoissonBatch], kp[kPoissonBatch];
  int32_t ptrs[kPoissonBatch], other[kPoissonBatch], pending[kPoissonBatch], tests[kPoissonBatch];
  uint8_t outcome[kPoissonBatch];
  for (int64_t lo = 0; lo < n; lo += kPoissonBatch) {
    const int m = static_cast<int>(std::min<int64_t>(kPoissonBatch, n - lo));
    const T* x = in + lo;
    T* y = out + lo;
    int nPtrs = 0, nOther = 0;
    for (int j = 0; j < m; j++) {  // (1)
      const double mu = static_cast<double>(x[j]);
      const bool isPtrs = mu >= 10.0 && mu <= kPoissonMaxRate;
      ptrs[nPtrs] = j;
      mus[nPtrs] = mu;
      nPtrs += isPtrs;
      other[nOther] = j;
      nOther += !isPtrs;
    }
    // (2) pending[i] indexes ptrs/mus/ks; round arrays (mp, us_, vs, kp, outcome) are indexed by i.
    int nPending = nPtrs;
    for (int i = 0; i < nPending; i++) pending[i] = i;
    double mp[kPoissonBatch];
    while (nPending > 0) {
      for (int i = 0; i < nPending; i++) {
        mp[i] = mus[pending[i]];
        us_[i] = r.open01() - 0.5;
        vs[i] = r.open01();
      }
      int i = 0;
#if defined(__SSE2__)
      for (; i + 1 < nPending; i += 2) ptrsSteps123x2(mp + i, us_ + i, vs + i, kp + i, outcome + i);
#endif
      for (; i < nPending; i++) outcome[i] = ptrsSteps123(mp[i], us_[i], vs[i], kp[i]);
      int nTests = 0;
      for (i = 0; i < nPending; i++) {
        tests[nTests] = i;
        nTests += outcome[i] == kPtrsTest;
      }
      for (int q = 0; q < nTests; q++) {
        const int e = tests[q];
        outcome[e] = ptrsStep4(mp[e], us_[e], vs[e], kp[e]) ? kPtrsAccept : kPtrsReject;
      }
      int nNext = 0;
      for (i = 0; i < nPending; i++) {
        const int e = pending[i];
        if (outcome[i] == kPtrsAccept) ks[e] = kp[i];
        pending[nNext] = e;
        nNext += outcome[i] != kPtrsAccept;
      }
      nPending = nNext;
    }
    for (int q = 0; q < nPtrs; q++) y[ptrs[q]] = static_cast<T>(ks[q]);
    for (int q = 0; q < nOther; q++) {  // (3)
      const int j = other[q];
      const double mu = static_cast<double>(x[j]);
      double k;
      if (mu > 0.0 && mu < 10.0) k = poissonInversion(mu, r.open01(), r);
      else if (mu == 0.0) k = 0.0;
      else {  // negative, NaN, ±Inf or too large
        bad.store(true, std::memory_order_relaxed);
        k = std::numeric_limits<double>::quiet_NaN();
      }
      y[j] = static_cast<T>(k);
    }
  }
}

template <typename T>
void poissonExactBlocks(const T* in, T* out, int64_t n, uint64_t key, std::atomic<bool>& bad) {
  const int64_t blocks = (n + kPoissonBlock - 1) / kPoissonBlock;
  at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
      Xoshiro256pp r(key, static_cast<uint64_t>(b));
      const int64_t lo = b * kPoissonBlock;
      poissonBlock(in + lo, out + lo, std::min(kPoissonBlock, n - lo), r, bad);
    }
  });
}

// poissonExact(generatorHandle, ratesHandle) -> handle of a new tensor of Poisson(rates) samples (CPU, float32/64).
Napi::Value PoissonExact(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    at::Generator& g = generatorAt(toInt(info[0], "poissonExact generator"));
    const at::Tensor& rates = toTensor(info[1], "poissonExact rates");
    if (!rates.device().is_cpu()) throw UserError("poissonExact: rates must be on the CPU, got " + rates.device().str());
    if (rates.layout() != at::kStrided) throw UserError("poissonExact: rates must be a dense tensor");
    const auto dtype = rates.scalar_type();
    if (dtype != at::kFloat && dtype != at::kDouble) throw UserError(std::string("poissonExact: rates must be float32 or float64, got ") + c10::toString(dtype));
    at::NoGradGuard noGrad;
    at::Tensor in = rates.detach().contiguous();
    at::Tensor out = at::empty(in.sizes(), in.options());
    uint64_t key;
    {
      std::lock_guard<std::mutex> lock(g.mutex());
      key = at::check_generator<at::CPUGeneratorImpl>(g)->random64();
    }
    std::atomic<bool> bad{false};
    const int64_t n = in.numel();
    if (dtype == at::kFloat) poissonExactBlocks(in.data_ptr<float>(), out.data_ptr<float>(), n, key, bad);
    else poissonExactBlocks(in.data_ptr<double>(), out.data_ptr<double>(), n, key, bad);
    if (bad.load()) {
      at::Tensor flat = in.reshape({-1}).to(at::kDouble);
      const double* v = flat.data_ptr<double>();
      for (int64_t i = 0; i < n; i++) {
        if (!(v[i] >= 0.0 && v[i] <= kPoissonMaxRate)) {
          throw UserError("poissonExact: rates must be finite, ≥ 0 and ≤ 1e15; element " + std::to_string(i) + " is " + std::to_string(v[i]));
        }
      }
    }
    return Napi::Number::New(env, storeTensor(out));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Threaded 2-D real FFTs (CPU)
// ---------------------------------------------------------------------------------------------------------------

// libtorch's CPU FFT without MKL (pocketfft: Debian's libtorch, most source builds) runs every transform on one
// thread whatever at::get_num_threads() says, while scipy.fft and FFTW split a 2-D transform's 1-D passes across
// threads. Deconvolution is FFT-bound (four 2-D transforms per Richardson–Lucy iteration), so on a multi-core CPU it
// did not scale at all. These run the same 1-D transforms as torch.fft.rfft2/irfft2 (pocketfft, same norm), the
// rows and then the columns (or the reverse) split into one block per thread. libtorch builds with MKL thread their
// FFT already: there, and for small grids, on other devices, one thread, or tensors that record gradients (worker
// threads would not carry autograd's thread-local state), they call the plain operator.
bool threadedFftApplies(const at::Tensor& x, int64_t rows, int64_t cols) {
  return !at::hasMKL() && x.device().is_cpu() && at::get_num_threads() > 1 && !at::in_parallel_region() &&
         !(at::GradMode::is_enabled() && x.requires_grad()) && rows * cols >= (1 << 16);
}

// Runs body(begin, end) over [0, n) in one block per thread, with gradients off in the workers.
template <typename F>
void perThreadBlocks(int64_t n, F body) {
  const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), n));
  at::parallel_for(0, n, (n + threads - 1) / threads, [&](int64_t b, int64_t e) {
    at::NoGradGuard noGrad;
    body(b, e);
  });
}

// rfft2 over the last two dims of a real tensor [..., H, W] → complex [..., H, W/2 + 1].
at::Tensor threadedRfft2(const at::Tensor& x, c10::string_view norm) {
  const int64_t H = x.size(-2), W = x.size(-1), Wc = W / 2 + 1;
  const at::Tensor rows = x.contiguous().view({-1, W});
  at::Tensor half = at::empty({rows.size(0), Wc}, x.options().dtype(c10::toComplexType(x.scalar_type())));
  perThreadBlocks(rows.size(0), [&](int64_t b, int64_t e) {
    at::Tensor o = half.narrow(0, b, e - b);
    at::fft_rfft_out(o, rows.narrow(0, b, e - b), W, -1, norm);
  });
  const at::Tensor cube = half.view({-1, H, Wc});
  at::Tensor out = at::empty_like(cube);
  perThreadBlocks(Wc, [&](int64_t b, int64_t e) {
    at::Tensor o = out.narrow(2, b, e - b);
    at::fft_fft_out(o, cube.narrow(2, b, e - b), H, 1, norm);
  });
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = Wc;
  return out.view(shape);
}

// irfft2 over the last two dims: complex [..., H, Wc] → real [..., H, W] (W = 2(Wc − 1) unless given).
at::Tensor threadedIrfft2(const at::Tensor& x, int64_t H, int64_t W, c10::string_view norm) {
  const int64_t Wc = x.size(-1);
  // an H other than the input's rows crops or zero-pads the column spectra, as irfft2's `s` does
  const at::Tensor cube = x.contiguous().view({-1, x.size(-2), Wc});
  at::Tensor half = at::empty({cube.size(0), H, Wc}, x.options());
  perThreadBlocks(Wc, [&](int64_t b, int64_t e) {
    at::Tensor o = half.narrow(2, b, e - b);
    at::fft_ifft_out(o, cube.narrow(2, b, e - b), H, 1, norm);
  });
  const at::Tensor rows = half.view({-1, Wc});
  at::Tensor out = at::empty({rows.size(0), W}, x.options().dtype(c10::toRealValueType(x.scalar_type())));
  perThreadBlocks(rows.size(0), [&](int64_t b, int64_t e) {
    at::Tensor o = out.narrow(0, b, e - b);
    at::fft_irfft_out(o, rows.narrow(0, b, e - b), W, -1, norm);
  });
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape[shape.size() - 2] = H;
  shape.back() = W;
  return out.view(shape);
}

// rfft2(handle, norm) / irfft2(handle, rows, cols, norm) -> handle: torch.fft.rfft2/irfft2 over the last two dims
// (no `s` for rfft2: callers pad), threaded where threadedFftApplies.
Napi::Value Rfft2(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    const at::Tensor& x = toTensor(info[0], "rfft2 input");
    const std::string norm = info[1].As<Napi::String>().Utf8Value();
    if (x.dim() < 2) throw UserError("rfft2: needs at least 2 dimensions, got " + std::to_string(x.dim()));
    const bool threaded = !x.is_complex() && threadedFftApplies(x, x.size(-2), x.size(-1));
    return Napi::Number::New(env, storeTensor(threaded ? threadedRfft2(x, norm) : at::fft_rfft2(x, c10::nullopt, {-2, -1}, norm)));
  });
}

Napi::Value Irfft2(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    const at::Tensor& x = toTensor(info[0], "irfft2 input");
    const int64_t H = toInt(info[1], "irfft2 rows"), W = toInt(info[2], "irfft2 cols");
    const std::string norm = info[3].As<Napi::String>().Utf8Value();
    if (x.dim() < 2) throw UserError("irfft2: needs at least 2 dimensions, got " + std::to_string(x.dim()));
    if (H < 1 || W < 2) throw UserError("irfft2: output size must be at least 1 × 2, got " + std::to_string(H) + " × " + std::to_string(W));
    const bool threaded = x.is_complex() && threadedFftApplies(x, H, W);
    return Napi::Number::New(env, storeTensor(threaded ? threadedIrfft2(x, H, W, norm) : at::fft_irfft2(x, at::IntArrayRef({H, W}), {-2, -1}, norm)));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Runtime
// ---------------------------------------------------------------------------------------------------------------

// at::set_num_threads sets OpenMP's (and MKL's) thread count, but not OpenBLAS's, which keeps its own pthreads (one
// per core) for the matrix products that libtorch hands it (Debian's libtorch). Those threads spin on sched_yield
// between calls: with PSFID_THREADS=1 a training run still kept two cores busy. So the BLAS gets the same count,
// when the BLAS loaded is OpenBLAS (looked up at run time: libtorch may bring MKL, or OpenBLAS, or neither).
static void* openBlasSymbol(const char* name) {
  for (const char* lib : {"libopenblas.so.0", "libopenblas.so", "libblas.so.3"}) {
    void* handle = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);  // only a library that is already loaded
    if (!handle) continue;
    void* sym = dlsym(handle, name);
    dlclose(handle);  // drops our extra reference only: the library stays loaded by libtorch
    if (sym) return sym;
  }
  return nullptr;
}

static void setBlasThreads(int n) {
  if (auto set = reinterpret_cast<void (*)(int)>(openBlasSymbol("openblas_set_num_threads"))) set(n);
}

// OpenBLAS's own thread count, or -1 when the BLAS loaded is not OpenBLAS.
Napi::Value BlasNumThreads(const Napi::CallbackInfo& info) {
  auto get = reinterpret_cast<int (*)()>(openBlasSymbol("openblas_get_num_threads"));
  return Napi::Number::New(info.Env(), get ? get() : -1);
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    int n = static_cast<int>(toInt(info[0], "threads"));
    if (n < 1) throw UserError("setNumThreads: need at least 1 thread");
    at::set_num_threads(n);
    setBlasThreads(n);
    return env.Undefined();
  });
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
    return Napi::Number::New(env, static_cast<double>(torch::cuda::is_available() ? torch::cuda::device_count() : 0));
  });
}

Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  return guarded(info, [&](Napi::Env env) -> Napi::Value {
#if defined(PSFID_CUDA)
    if (torch::cuda::is_available()) torch::cuda::synchronize();
#endif
    return env.Undefined();
  });
}

Napi::Value Version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), TORCH_VERSION);
}

// Keeps glibc from returning multi-MB tensor buffers to the kernel after every step (page faults in every FFT) and
// from serving them through mmap; equivalent to MALLOC_MMAP_THRESHOLD_=32MiB, MALLOC_TRIM_THRESHOLD_=1GiB,
// MALLOC_TOP_PAD_=64MiB, which the probe measured at PyTorch's speed. An explicit environment setting wins.
void tuneAllocator() {
  if (!std::getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 32 << 20);
  if (!std::getenv("MALLOC_TRIM_THRESHOLD_")) mallopt(M_TRIM_THRESHOLD, 1 << 30);
  if (!std::getenv("MALLOC_TOP_PAD_")) mallopt(M_TOP_PAD, 64 << 20);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tuneAllocator();
  auto def = [&](const char* name, Napi::Function::Callback fn) { exports.Set(name, Napi::Function::New(env, fn, name)); };
  def("op", Op);
  def("opSchema", OpSchema);
  def("call", Call);
  def("release", Release);
  def("liveTensors", LiveTensors);
  def("fromData", FromData);
  def("toData", ToData);
  def("shape", Shape);
  def("dtype", Dtype);
  def("device", DeviceOf);
  def("item", Item);
  def("backward", Backward);
  def("grad", Grad);
  def("setGrad", SetGrad);
  def("setRequiresGrad", SetRequiresGrad);
  def("requiresGrad", RequiresGrad);
  def("setGradEnabled", SetGradEnabled);
  def("isGradEnabled", IsGradEnabled);
  def("newGenerator", NewGenerator);
  def("releaseGenerator", ReleaseGenerator);
  def("forkGenerator", ForkGenerator);
  def("generatorDevice", GeneratorDevice);
  def("generatorState", GeneratorState);
  def("setGeneratorState", SetGeneratorState);
  def("manualSeed", ManualSeed);
  def("poissonExact", PoissonExact);
  def("rfft2", Rfft2);
  def("irfft2", Irfft2);
  def("setNumThreads", SetNumThreads);
  def("getNumThreads", GetNumThreads);
  def("blasNumThreads", BlasNumThreads);
  def("cudaDeviceCount", CudaDeviceCount);
  def("cudaSynchronize", CudaSynchronize);
  def("version", Version);
#if defined(PSFID_CUDA)
  exports.Set("cudaBuild", Napi::Boolean::New(env, true));
#else
  exports.Set("cudaBuild", Napi::Boolean::New(env, false));
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(psfid_torch, Init)

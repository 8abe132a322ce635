using DynRec.Config;
using DynRec.Data;
using DynRec.Models;
using DynRec.Ops;

namespace DynRec.Training;

/// <summary>
/// Creates a model by registry name (pepnet, apg, m2m, dnn, shared_bottom,
/// mmoe) for a data schema, with the config's `model` section and a kernel
/// path. The model factory of DynRec.Models plugs in here.
/// </summary>
public delegate MultiTaskModel ModelBuilder(string modelName, FeatureSchema schema, ModelOptions options, Kernels kernels);

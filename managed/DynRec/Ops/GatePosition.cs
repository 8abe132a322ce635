namespace DynRec.Ops;

/// <summary>
/// Where a PPNet gate multiplies a dense layer: on its output (FunRec:
/// y = delta ⊙ act(x W^T + b)) or on its input (the PEPNet paper:
/// y = act((delta ⊙ x) W^T + b)).
/// </summary>
public enum GatePosition
{
    Output,
    Input,
}

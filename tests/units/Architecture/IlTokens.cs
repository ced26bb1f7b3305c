using System.Reflection.Emit;

namespace PrefectScaling.Architecture.Tests;

/// <summary>Walks a method body's IL and yields the metadata tokens its instructions carry (the types, methods
/// and fields it names): shared by the reflection and the metadata readers of type uses.</summary>
internal static class IlTokens
{
    private static readonly Dictionary<ushort, OperandType> Operands = typeof(OpCodes).GetFields()
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(c => unchecked((ushort)c.Value), c => c.OperandType);

    public static IEnumerable<int> Of(byte[] il, string method)
    {
        int at = 0;
        while (at < il.Length)
        {
            ushort value = il[at] == 0xFE ? (ushort)(0xFE00 | il[++at]) : il[at];
            if (!Operands.TryGetValue(value, out OperandType operand))
                throw new InvalidOperationException("Unknown opcode at IL_" + at.ToString("x4") + " of " + method);
            at++;
            switch (operand)
            {
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget:
                case OperandType.ShortInlineI:
                case OperandType.ShortInlineVar: at += 1; break;
                case OperandType.InlineVar: at += 2; break;
                case OperandType.InlineI8:
                case OperandType.InlineR: at += 8; break;
                case OperandType.InlineSwitch: at += 4 + 4 * BitConverter.ToInt32(il, at); break;
                case OperandType.InlineField:
                case OperandType.InlineMethod:
                case OperandType.InlineTok:
                case OperandType.InlineType:
                    yield return BitConverter.ToInt32(il, at);
                    at += 4;
                    break;
                default: at += 4; break;
            }
        }
    }
}

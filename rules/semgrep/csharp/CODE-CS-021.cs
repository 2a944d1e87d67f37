using System;
using Microsoft.AspNetCore.Mvc;


public class CalcController : Controller
{
    public async Task<IActionResult> Eval(string expression)
    {
        // ruleid: CODE-CS-021
        var result = await CSharpScript.EvaluateAsync<int>(expression);
        // ok: CODE-CS-021
        var fixedResult = await CSharpScript.EvaluateAsync<int>("1 + 2");
        return Ok(result);
    }
}

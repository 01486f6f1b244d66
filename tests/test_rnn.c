/*
** test_rnn.c: the recurrent layers of ag_rnn.h. Values against numbers
** PyTorch 1.13 computed once (f64) with weights from a formula both sides
** evaluate: the q-th tensor of the state_dict (PyTorch's order, which is
** ours) has element i = 0.4 sin(1.3 i + 0.7 q + 0.2); inputs x[i] =
** sin(0.37 i + 0.1), h0[i] = 0.5 sin(0.23 i + 1), c0[i] = 0.5 sin(0.41 i +
** 0.3), an upstream gradient g[i] = sin(0.13 i). Produced by this script,
** run with /usr/bin/python3:
**
**     import torch, math
**     torch.set_default_dtype(torch.float64)
**     def fill(shape, a, b, scale=1.0):
**         n = math.prod(shape)
**         return torch.tensor([scale*math.sin(a*i+b) for i in range(n)]).reshape(shape)
**     def load(m):
**         with torch.no_grad():
**             for q, (name, p) in enumerate(m.state_dict().items()):
**                 p.copy_(fill(p.shape, 1.3, 0.7*q + 0.2, 0.4))
**         return m
**     def show(name, t):
**         v = t.flatten().tolist()
**         print("// %s %s" % (name, list(t.shape)))
**         print("static const double %s[%d] = {" % (name, len(v)))
**         for i in range(0, len(v), 5):
**             print("    " + ", ".join("%.15g" % x for x in v[i:i+5]) + ",")
**         print("};")
**     X = lambda *s: fill(s, 0.37, 0.1)
**     H0 = lambda *s: fill(s, 0.23, 1.0, 0.5)
**     C0 = lambda *s: fill(s, 0.41, 0.3, 0.5)
**     nn = torch.nn
**     # LSTM, 2 layers, bidirectional, time-major, given states
**     m = load(nn.LSTM(3, 4, num_layers=2, bidirectional=True))
**     x = X(5, 2, 3).requires_grad_()
**     y, (hn, cn) = m(x, (H0(4, 2, 4), C0(4, 2, 4)))
**     show("pt_lstm_y", y); show("pt_lstm_hn", hn); show("pt_lstm_cn", cn)
**     g = fill(y.shape, 0.13, 0.0)
**     dx, dw = torch.autograd.grad((y * g).sum() + hn.sum() + cn.sum(), (x, m.weight_hh_l0_reverse))
**     show("pt_lstm_dx", dx); show("pt_lstm_dwhh0r", dw)
**     # GRU, 2 layers, bidirectional, batch-first, given h0
**     m = load(nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True))
**     y, hn = m(X(2, 5, 3), H0(4, 2, 4))
**     show("pt_gru_y", y); show("pt_gru_hn", hn)
**     # LSTM batch-first one layer zero states; GRU time-major one layer
**     m = load(nn.LSTM(3, 4, batch_first=True))
**     y, (hn, cn) = m(X(2, 3, 3))
**     show("pt_lstm_bf_y", y); show("pt_lstm_bf_cn", cn)
**     m = load(nn.GRU(3, 4))
**     y, hn = m(X(4, 2, 3))
**     show("pt_gru_tm_y", y)
**     # RNN relu, 2 layers, unbatched; RNN tanh bidirectional no bias
**     m = load(nn.RNN(3, 4, num_layers=2, nonlinearity="relu"))
**     y, hn = m(X(4, 3), H0(2, 4))
**     show("pt_rnn_relu_y", y); show("pt_rnn_relu_hn", hn)
**     m = load(nn.RNN(3, 4, bias=False, bidirectional=True))
**     y, hn = m(X(3, 2, 3))
**     show("pt_rnn_tanh_y", y); show("pt_rnn_tanh_hn", hn)
**     # cells
**     m = load(nn.LSTMCell(3, 4)); h, c = m(X(2, 3), (H0(2, 4), C0(2, 4)))
**     show("pt_lstmcell_h", h); show("pt_lstmcell_c", c)
**     m = load(nn.GRUCell(3, 4)); show("pt_grucell_h", m(X(2, 3), H0(2, 4)))
**     m = load(nn.RNNCell(3, 4, nonlinearity="relu")); show("pt_rnncell_h", m(X(3), H0(4)))
*/
#include "test_util.h"
#include "st_test_util.h"

// pt_lstm_y [5, 2, 8]
static const double pt_lstm_y[80] = {
    -0.052506900610239, 0.184389008054882, 0.295278234936789, 0.101011347561676, 0.279264760210185,
    -0.0951383973127233, -0.303879697341984, -0.149968401323333, -0.0214536540458851, 0.151149529622525,
    0.174583457008195, -0.0673202065105028, 0.282468638256633, -0.0857501985436262, -0.30177048311067,
    -0.133852352837776, -0.155137147423276, 0.189489104556306, 0.286441895560731, 0.0411447050009974,
    0.261091932342923, -0.0817536291046539, -0.289867729034582, -0.152672350758118, -0.167385338888322,
    0.15424221272069, 0.209148105848868, -0.00967699161131929, 0.249194139905509, -0.0983980056101958,
    -0.273377953215473, -0.124752674502545, -0.20576021050717, 0.178724745902356, 0.28120981803468,
    0.0195324637663961, 0.215277546114779, -0.0808188194324629, -0.263858895489751, -0.149585289582205,
    -0.210382998851197, 0.166093398395702, 0.239859841997473, 0.00458007748942499, 0.207183208672636,
    -0.0761479097089531, -0.240783460816232, -0.118251608065996, -0.196907600738085, 0.161522033701472,
    0.285698332672336, 0.0245144273193765, 0.142941676675895, -0.0591174336524775, -0.227469827153348,
    -0.155718879047438, -0.209016016860984, 0.163045511686845, 0.257601281267833, 0.0166416338530249,
    0.133482522309679, -0.0451707080630663, -0.195505438683711, -0.0977330399933401, -0.208845679852728,
    0.156475782002241, 0.27896324176996, 0.0207330948805441, -0.00125353422993564, -0.0950198540904293,
    -0.181564306331929, -0.154633263917124, -0.24038990676731, 0.173218743107983, 0.253036739261243,
    0.00603114306821732, -0.0042151428604086, -0.0439795846480622, -0.133147068548975, -0.0508402665424778,
};
// pt_lstm_hn [4, 2, 4]
static const double pt_lstm_hn[32] = {
    -0.0123647979847723, 0.291840939026729, 0.182201092982812, -0.135375468393514, -0.0932448737147548,
    0.261965879636903, 0.166770687732403, -0.15309716506107, 0.114913066903874, -0.136035396339826,
    -0.274319517789875, -0.00277122465065121, 0.129877272072342, -0.0589127929744239, -0.347265466584293,
    0.0845081687200289, -0.208845679852728, 0.156475782002241, 0.27896324176996, 0.0207330948805441,
    -0.24038990676731, 0.173218743107983, 0.253036739261243, 0.00603114306821732, 0.279264760210185,
    -0.0951383973127233, -0.303879697341984, -0.149968401323333, 0.282468638256633, -0.0857501985436262,
    -0.30177048311067, -0.133852352837776,
};
// pt_lstm_cn [4, 2, 4]
static const double pt_lstm_cn[32] = {
    -0.0327167520860769, 0.569250462276004, 0.312470062062801, -0.223466129760764, -0.19080114908943,
    0.71655675888552, 0.248796010645823, -0.250859854414287, 0.149745339860947, -0.254408711089735,
    -0.939209525200121, -0.00719026668490798, 0.16483714446163, -0.128949114459907, -1.00066538531078,
    0.275219001246432, -0.622792238277093, 0.393028576877664, 0.487308661444448, 0.0323505974034649,
    -0.689972788656227, 0.46149720725156, 0.443553536830939, 0.00905767748528583, 0.453355713253712,
    -0.135175833386892, -0.756793266573936, -0.633563309375227, 0.453295342380723, -0.124456348839901,
    -0.746083154009863, -0.535136593057687,
};
// pt_lstm_dx [5, 2, 3]
static const double pt_lstm_dx[30] = {
    0.110695378309601, 0.0135289215784755, -0.103457436960009, 0.297168319123691, 0.28858388596926,
    -0.142776616210274, 0.251263595921933, 0.0138163831413477, -0.243871863309655, 0.111015963788441,
    -0.215318268592226, -0.22621073304823, 0.0131772537845977, -0.190029649997458, -0.114842671341118,
    -0.0802997405013458, -0.0506991956898001, 0.0531757895828851, -0.0643270980156246, 0.178962573459053,
    0.160071655551501, 0.0607470647760373, 0.340628466794739, 0.121488366951525, 0.0582835524819954,
    0.292963400575728, 0.0984511804857694, 0.0318029357807035, 0.101026184475593, 0.0222458362345612,
};
// pt_lstm_dwhh0r [16, 4]
static const double pt_lstm_dwhh0r[64] = {
    0.0466953548306195, -0.0388485163496647, -0.0375331141382247, 0.0323453203729957, -0.0425414990574007,
    0.0630313196241375, 0.0864720611690346, 0.00506044350196397, -0.128352305555728, 0.178566674878784,
    0.197398143018382, -0.0079676810745867, 0.0122071514774744, -0.0360324733042558, -0.00602892133066738,
    -0.0130319788072034, 0.0689855760059201, -0.0906258997327688, -0.0984490050380543, 0.00758191965944896,
    -0.0486065682480118, 0.0645424515949503, 0.0685362350796131, -0.00640831419731483, -0.146544247047807,
    0.177456988560528, 0.242746428065829, -0.0233224677824199, 0.0150216533507763, -0.0344083340714742,
    -0.0281745498764847, 0.0221113895406824, 0.237096344491008, -0.250264549821962, -0.281080538832569,
    0.0919216754804807, 0.428889095471859, -0.508029322150171, -0.555821553448471, 0.092890955935597,
    0.196254024773262, -0.314851116024838, -0.498494876084279, -0.0274601810068384, 0.516296038458656,
    -0.786843230682326, -1.03433635091851, -0.0674282520342814, 0.00973424616175235, -0.00105416262052052,
    0.0041488444011533, 0.0119045785664705, -0.0249738564826919, 0.0367157490650585, 0.0403881657594054,
    0.00514319338135262, -0.0915527053110672, 0.126498023849905, 0.158605943311792, 0.0063933500475469,
    0.00636822231221656, -0.00656392056017399, -0.0042661411242278, 0.00468794552280124,
};
// pt_gru_y [2, 5, 8]
static const double pt_gru_y[80] = {
    -0.494067186718739, -0.240562142610417, 0.0694325833854762, -0.125260014894553, 0.607139262004974,
    -0.0789698518208634, -0.744273173314645, -0.195217585126665, -0.451623574712269, -0.108497940761186,
    0.297572882985643, -0.0372355830386919, 0.584721787829568, -0.0413513502881418, -0.697419461047654,
    -0.150546060192873, -0.465961613944549, -0.00131694403552318, 0.398703954867015, -0.0563102598839619,
    0.559085248658426, -0.0557351411735901, -0.609952549602232, -0.0852873761830169, -0.480664850802785,
    0.0662625658109654, 0.427825218871249, -0.0564262095969526, 0.439248265703484, 0.00632285892283537,
    -0.44210243278732, -0.0227593549741949, -0.416670049205137, 0.0891915795281937, 0.391108961122782,
    0.0508245758535191, 0.247886354404417, 0.128033560153358, -0.143963202213869, 0.093638161672936,
    -0.37408244247965, -0.0792273090721368, 0.234047888093803, 0.00470749713278306, 0.62615390877479,
    -0.0470559791024208, -0.769766264781456, -0.198390683319725, -0.384622156511384, -0.0347176867973365,
    0.383340018750812, 0.0281373475219033, 0.60796460159652, 0.00412108202856564, -0.7274874586345,
    -0.155351074092336, -0.393177875207265, -0.0131891904161019, 0.455457974355771, 0.0242367370586097,
    0.603717026007813, 0.0235741146696044, -0.64967365090444, -0.0827714917435338, -0.442220548849917,
    0.0381935706925171, 0.48787631466003, -0.0343907669740559, 0.589304794296716, 0.0481603626044083,
    -0.50022816264262, 0.01537299170573, -0.446182310316051, 0.0750862764558163, 0.463236917280291,
    -0.0137602910686809, 0.50395778445837, 0.205695090014242, -0.175768182378369, 0.145823303587652,
};
// pt_gru_hn [4, 2, 4]
static const double pt_gru_hn[32] = {
    -0.201538417936123, 0.532845331485191, 0.279029593649173, -0.345183453499338, -0.112189460588171,
    0.421922749338096, 0.391351673775916, -0.365609849941635, 0.0806282315826041, -0.0992945219132781,
    -0.672708533656169, -0.0805913650270528, 0.266269930944676, -0.322027534994884, -0.590765373543051,
    -0.187719790143263, -0.416670049205137, 0.0891915795281937, 0.391108961122782, 0.0508245758535191,
    -0.446182310316051, 0.0750862764558163, 0.463236917280291, -0.0137602910686809, 0.607139262004974,
    -0.0789698518208634, -0.744273173314645, -0.195217585126665, 0.62615390877479, -0.0470559791024208,
    -0.769766264781456, -0.198390683319725,
};
// pt_lstm_bf_y [2, 3, 4]
static const double pt_lstm_bf_y[24] = {
    0.0310527964503385, 0.121509075076368, 0.0688339266623057, -0.0133045956891386, 0.0806622451688738,
    0.127512165434159, 0.144333450309444, -0.040678840691367, 0.0687493621919667, 0.141345580808355,
    0.195955905863695, -0.126463001601293, -0.124112435569063, 0.152592909001171, 0.127797701520893,
    -0.136727412990003, -0.230709187233113, 0.235450148490553, 0.104840886129073, -0.157298862244016,
    -0.149135922284305, 0.317451630721472, 0.0665554160183594, -0.0997859566904896,
};
// pt_lstm_bf_cn [1, 2, 4]
static const double pt_lstm_bf_cn[8] = {
    0.223100722338053, 0.240341148196279, 0.345045338145777, -0.209383148431145, -0.439205961339412,
    0.79579238976876, 0.0895897961005044, -0.196940564605835,
};
// pt_gru_tm_y [4, 2, 4]
static const double pt_gru_tm_y[32] = {
    0.066849618337963, 0.102944639609233, 0.130306239043685, 0.0760983674289561, 0.192204086924583,
    -0.0297666173879691, 0.325165217274292, 0.00438392096695875, 0.0501807854510887, 0.0940784962237929,
    0.437608019979309, -0.184252289499131, -0.0114628769087911, 0.224593813439445, 0.395157960672507,
    -0.283010662343477, -0.130147791469368, 0.42759277392138, 0.272753624285633, -0.29198524917862,
    -0.0905335234998681, 0.377423630883372, 0.233841872422493, -0.119318378086303, 0.122614789058935,
    0.305364315669204, 0.28103346053301, -0.00185346731767, 0.156576434910356, 0.234452657380804,
    0.417504230988134, -0.108562931686749,
};
// pt_rnn_relu_y [4, 4]
static const double pt_rnn_relu_y[16] = {
    0, 0.0808040179665489, 1.00781838658868, 0.598991033300295, 0,
    0.11422436271817, 0.62892060551266, 0.210530834243005, 0, 0.138338012145582,
    0.82676926039149, 0.371807971225766, 0, 0, 0.51438664176038,
    0.395089228243611,
};
// pt_rnn_relu_hn [2, 4]
static const double pt_rnn_relu_hn[8] = {
    0.77018325680426, 0, 0, 0, 0,
    0, 0.51438664176038, 0.395089228243611,
};
// pt_rnn_tanh_y [3, 2, 8]
static const double pt_rnn_tanh_y[48] = {
    0.280673395893852, -0.0520318201490241, -0.209646399272205, 0.346127795827926, -0.112913707492667,
    0.185165411709231, -0.498812080249204, 0.0926008173932944, 0.535488363698061, -0.434064757702438,
    0.0770022121039044, 0.338923412574852, 0.0126980950261582, 0.12106473375589, -0.537761901950954,
    0.593735288041766, 0.202985790971794, -0.486476585439536, 0.158104022430923, 0.00855912254875421,
    0.111735405717907, -0.155346915050177, -0.0468461628814304, 0.490000784425213, -0.462071152183463,
    -0.104480810060835, 0.05874321915775, -0.248285324778667, -0.00709455935479424, -0.353649314314227,
    0.501769020255051, -0.10479260082117, -0.605524651096154, 0.326939528149892, -0.147250048932819,
    -0.172162430564967, -0.191389919800009, -0.238219332639479, 0.497829524030508, -0.500847733694598,
    -0.220725307512349, 0.342632798895497, -0.136161080255043, 0.196308667258736, -0.290077040121402,
    0.155657646421181, 0.07068624206627, -0.254044563189127,
};
// pt_rnn_tanh_hn [2, 2, 4]
static const double pt_rnn_tanh_hn[16] = {
    -0.605524651096154, 0.326939528149892, -0.147250048932819, -0.172162430564967, -0.220725307512349,
    0.342632798895497, -0.136161080255043, 0.196308667258736, -0.112913707492667, 0.185165411709231,
    -0.498812080249204, 0.0926008173932944, 0.0126980950261582, 0.12106473375589, -0.537761901950954,
    0.593735288041766,
};
// pt_lstmcell_h [2, 4]
static const double pt_lstmcell_h[8] = {
    0.0732393904893678, 0.236609857142113, 0.196978701144469, 0.0343007521774026, 0.116570184653486,
    0.166458276978919, 0.155296441711638, -0.0267972222747107,
};
// pt_lstmcell_c [2, 4]
static const double pt_lstmcell_c[8] = {
    0.27549660599727, 0.42935709070174, 0.283929072940113, 0.0699959328241102, 0.511717448062292,
    0.257082849277588, 0.265385511596105, -0.0525877851021634,
};
// pt_grucell_h [2, 4]
static const double pt_grucell_h[8] = {
    0.329885389599771, 0.408259454909133, 0.351085639220324, 0.182013439219192, 0.412642886042382,
    0.275118245929157, 0.441159465262971, 0.0995376167401042,
};
// pt_rnncell_h [4]
static const double pt_rnncell_h[4] = {
    1.00320799818942, 0.0291089925819184, 0, 0.0101333796686354,
};

/* ------------------------------------------------------------ helpers --- */

#define N_OF(a) ((int64_t)(sizeof(a) / sizeof(a)[0]))

/* x[i] = scale sin(a i + b), in place. */
static void fill(ag_tensor *x, double a, double b, double scale)
{
    for (int64_t i = 0; i < ag_tensor_numel(x); i++)
        ck_assert_int_eq(ag_tensor_set(x, i, scale * sin(a * (double)i + b)), AG_OK);
}

/* A persistent tensor filled by the formula. */
static ag_tensor *formula(ag_dtype dt, int nd, const int64_t *shape, double a, double b,
                          double scale)
{
    ag_tensor *x = ag_zeros(NULL, dt, nd, shape);
    ck_assert_ptr_nonnull(x);
    fill(x, a, b, scale);
    return x;
}

#define X(dt, nd, ...) formula((dt), (nd), SHAPE(__VA_ARGS__), 0.37, 0.1, 1.0)
#define H0(dt, nd, ...) formula((dt), (nd), SHAPE(__VA_ARGS__), 0.23, 1.0, 0.5)
#define C0(dt, nd, ...) formula((dt), (nd), SHAPE(__VA_ARGS__), 0.41, 0.3, 0.5)

/* The q-th tensor of m's state_dict gets 0.4 sin(1.3 i + 0.7 q + 0.2). */
static ag_module *load_formula(ag_module *m)
{
    ag_named_tensor nt[64];
    ck_assert_ptr_nonnull(m);
    int n = ag_module_named_tensors(m, nt, 64, 1);
    ck_assert_int_le(n, 64);
    for (int q = 0; q < n; q++) fill(nt[q].tensor, 1.3, 0.7 * q + 0.2, 0.4);
    return m;
}

static ag_rng *rng0(void)
{
    static ag_rng *r;
    if (!r) r = ag_rng_new(7);
    return r;
}

#define LSTM(dt, in, hid, layers, bf, bi) \
    ag_lstm_new((in), (hid), (layers), 1, (bf), 0.0, (bi), (dt), rng0())
#define GRU(dt, in, hid, layers, bf, bi) \
    ag_gru_new((in), (hid), (layers), 1, (bf), 0.0, (bi), (dt), rng0())

/* ------------------------------------------------------ against torch --- */

/* LSTM(3, 4, num_layers=2, bidirectional=True) over x [5,2,3] from given
   states in dtype dt: y, h_n, c_n within tol of PyTorch's. */
static void check_lstm_torch(ag_dtype dt, double tol)
{
    ag_module *m = load_formula(LSTM(dt, 3, 4, 2, 0, 1));
    ag_tensor *x = X(dt, 3, 5, 2, 3), *h0 = H0(dt, 3, 4, 2, 4), *c0 = C0(dt, 3, 4, 2, 4);
    ag_tape *t = ag_tape_new();
    ag_tensor *y, *hn, *cn;
    ck_assert_msg(ag_rnn_forward(m, t, x, h0, c0, &y, &hn, &cn) == AG_OK, "%s",
                  ag_tape_errmsg(t));
    tu_assert_shape(y, 3, SHAPE(5, 2, 8));
    tu_assert_shape(hn, 3, SHAPE(4, 2, 4));
    tu_assert_values(y, pt_lstm_y, N_OF(pt_lstm_y), tol);
    tu_assert_values(hn, pt_lstm_hn, N_OF(pt_lstm_hn), tol);
    tu_assert_values(cn, pt_lstm_cn, N_OF(pt_lstm_cn), tol);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(h0), ag_tensor_free(c0);
    ag_module_free(m);
}

START_TEST(test_rnn_lstm_two_layers_bidirectional_matches_torch)
{
    check_lstm_torch(AG_F64, 1e-12);
    check_lstm_torch(AG_F32, 2e-6);
}
END_TEST

/* The gradients of sum(y g) + sum(h_n) + sum(c_n) by ag_backward: x's and
   weight_hh_l0_reverse's, against PyTorch's. */
START_TEST(test_rnn_lstm_gradients_match_torch)
{
    ag_module *m = load_formula(LSTM(AG_F64, 3, 4, 2, 0, 1));
    ag_tensor *x = X(AG_F64, 3, 5, 2, 3), *h0 = H0(AG_F64, 3, 4, 2, 4);
    ag_tensor *c0 = C0(AG_F64, 3, 4, 2, 4), *g = formula(AG_F64, 3, SHAPE(5, 2, 8), 0.13, 0, 1);
    ck_assert_int_eq(ag_set_requires_grad(x, 1), AG_OK);
    ag_tape *t = ag_tape_new();
    ag_tensor *y, *hn, *cn;
    ck_assert_int_eq(ag_rnn_forward(m, t, x, h0, c0, &y, &hn, &cn), AG_OK);
    ag_tensor *loss = ag_add(t, ag_sum(t, ag_mul(t, y, g), AG_ALL, 0),
                             ag_add(t, ag_sum(t, hn, AG_ALL, 0), ag_sum(t, cn, AG_ALL, 0)));
    ck_assert_msg(ag_backward(t, loss) == AG_OK, "%s", ag_tape_errmsg(t));
    tu_assert_values(ag_tensor_grad(x), pt_lstm_dx, N_OF(pt_lstm_dx), 1e-12);
    tu_assert_values(ag_tensor_grad(ag_module_get(m, "weight_hh_l0_reverse")), pt_lstm_dwhh0r,
                     N_OF(pt_lstm_dwhh0r), 1e-12);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(h0), ag_tensor_free(c0), ag_tensor_free(g);
    ag_module_free(m);
}
END_TEST

START_TEST(test_rnn_gru_two_layers_bidirectional_batch_first_matches_torch)
{
    ag_module *m = load_formula(GRU(AG_F64, 3, 4, 2, 1, 1));
    ag_tensor *x = X(AG_F64, 3, 2, 5, 3), *h0 = H0(AG_F64, 3, 4, 2, 4);
    ag_tape *t = ag_tape_new();
    ag_tensor *y, *hn, *cn = x;
    ck_assert_msg(ag_rnn_forward(m, t, x, h0, NULL, &y, &hn, &cn) == AG_OK, "%s",
                  ag_tape_errmsg(t));
    ck_assert_ptr_null(cn);
    tu_assert_shape(y, 3, SHAPE(2, 5, 8));
    tu_assert_values(y, pt_gru_y, N_OF(pt_gru_y), 1e-12);
    tu_assert_values(hn, pt_gru_hn, N_OF(pt_gru_hn), 1e-12);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(h0);
    ag_module_free(m);
}
END_TEST

/* The other way round: LSTM batch-first, GRU time-major, zero states
   (ag_module_forward for the GRU). */
START_TEST(test_rnn_lstm_batch_first_gru_time_major_match_torch)
{
    ag_module *lstm = load_formula(LSTM(AG_F64, 3, 4, 1, 1, 0));
    ag_module *gru = load_formula(GRU(AG_F64, 3, 4, 1, 0, 0));
    ag_tensor *x1 = X(AG_F64, 3, 2, 3, 3), *x2 = X(AG_F64, 3, 4, 2, 3);
    ag_tape *t = ag_tape_new();
    ag_tensor *y, *cn;
    ck_assert_int_eq(ag_rnn_forward(lstm, t, x1, NULL, NULL, &y, NULL, &cn), AG_OK);
    tu_assert_shape(y, 3, SHAPE(2, 3, 4));
    tu_assert_values(y, pt_lstm_bf_y, N_OF(pt_lstm_bf_y), 1e-12);
    tu_assert_values(cn, pt_lstm_bf_cn, N_OF(pt_lstm_bf_cn), 1e-12);
    y = ag_module_forward(gru, t, x2);
    tu_assert_shape(y, 3, SHAPE(4, 2, 4));
    tu_assert_values(y, pt_gru_tm_y, N_OF(pt_gru_tm_y), 1e-12);
    ag_tape_free(t);
    ag_tensor_free(x1), ag_tensor_free(x2);
    ag_module_free(lstm), ag_module_free(gru);
}
END_TEST

/* RNN relu, 2 layers, unbatched [T, I] with h0 [2, H]; RNN tanh,
   bidirectional, no bias. */
START_TEST(test_rnn_rnn_relu_unbatched_and_tanh_bidirectional_match_torch)
{
    ag_module *relu = load_formula(ag_rnn_new(3, 4, 2, "relu", 1, 0, 0, 0, AG_F64, rng0()));
    ag_module *th = load_formula(ag_rnn_new(3, 4, 1, NULL, 0, 0, 0, 1, AG_F64, rng0()));
    ag_tensor *x1 = X(AG_F64, 2, 4, 3), *h0 = H0(AG_F64, 2, 2, 4), *x2 = X(AG_F64, 3, 3, 2, 3);
    ag_tape *t = ag_tape_new();
    ag_tensor *y, *hn;
    ck_assert_msg(ag_rnn_forward(relu, t, x1, h0, NULL, &y, &hn, NULL) == AG_OK, "%s",
                  ag_tape_errmsg(t));
    tu_assert_shape(y, 2, SHAPE(4, 4));
    tu_assert_shape(hn, 2, SHAPE(2, 4));
    tu_assert_values(y, pt_rnn_relu_y, N_OF(pt_rnn_relu_y), 1e-12);
    tu_assert_values(hn, pt_rnn_relu_hn, N_OF(pt_rnn_relu_hn), 1e-12);
    ck_assert_int_eq(ag_rnn_forward(th, t, x2, NULL, NULL, &y, &hn, NULL), AG_OK);
    tu_assert_shape(y, 3, SHAPE(3, 2, 8));
    tu_assert_values(y, pt_rnn_tanh_y, N_OF(pt_rnn_tanh_y), 1e-12);
    tu_assert_values(hn, pt_rnn_tanh_hn, N_OF(pt_rnn_tanh_hn), 1e-12);
    ck_assert_int_eq(ag_module_named_tensors(th, NULL, 0, 1), 4);     /* no biases */
    ag_tape_free(t);
    ag_tensor_free(x1), ag_tensor_free(h0), ag_tensor_free(x2);
    ag_module_free(relu), ag_module_free(th);
}
END_TEST

START_TEST(test_rnn_cells_match_torch)
{
    ag_module *lc = load_formula(ag_lstm_cell_new(3, 4, 1, AG_F64, rng0()));
    ag_module *gc = load_formula(ag_gru_cell_new(3, 4, 1, AG_F64, rng0()));
    ag_module *rc = load_formula(ag_rnn_cell_new(3, 4, 1, "relu", AG_F64, rng0()));
    ag_tensor *x = X(AG_F64, 2, 2, 3), *h = H0(AG_F64, 2, 2, 4), *c = C0(AG_F64, 2, 2, 4);
    ag_tensor *x1 = X(AG_F64, 1, 3), *h1 = H0(AG_F64, 1, 4);
    ag_tape *t = ag_tape_new();
    ag_tensor *hn, *cn;
    ck_assert_int_eq(ag_rnn_cell_forward(lc, t, x, h, c, &hn, &cn), AG_OK);
    tu_assert_values(hn, pt_lstmcell_h, N_OF(pt_lstmcell_h), 1e-12);
    tu_assert_values(cn, pt_lstmcell_c, N_OF(pt_lstmcell_c), 1e-12);
    ck_assert_int_eq(ag_rnn_cell_forward(gc, t, x, h, NULL, &hn, &cn), AG_OK);
    ck_assert_ptr_null(cn);
    tu_assert_values(hn, pt_grucell_h, N_OF(pt_grucell_h), 1e-12);
    ck_assert_int_eq(ag_rnn_cell_forward(rc, t, x1, h1, NULL, &hn, NULL), AG_OK);
    tu_assert_shape(hn, 1, SHAPE(4));
    tu_assert_values(hn, pt_rnncell_h, N_OF(pt_rnncell_h), 1e-12);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(h), ag_tensor_free(c);
    ag_tensor_free(x1), ag_tensor_free(h1);
    ag_module_free(lc), ag_module_free(gc), ag_module_free(rc);
}
END_TEST

/* ------------------------------------------------- names, init, modes --- */

START_TEST(test_rnn_state_dict_names_shapes_and_init)
{
    static const char *const names[] = {
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
        "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
        "bias_hh_l0_reverse", "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
        "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse",
        "bias_hh_l1_reverse"};
    static const int64_t cols[] = {3, 4, 0, 0, 3, 4, 0, 0, 8, 4, 0, 0, 8, 4, 0, 0};
    ag_module *m = LSTM(AG_F32, 3, 4, 2, 0, 1);
    ag_named_tensor nt[20];
    ck_assert_int_eq(ag_module_named_tensors(m, nt, 20, 1), 16);
    double lo = 1, hi = -1;
    for (int q = 0; q < 16; q++) {
        ck_assert_str_eq(nt[q].name, names[q]);
        ck_assert_int_eq(ag_tensor_dim(nt[q].tensor, 0), 16);           /* 4 gates * 4 */
        ck_assert_int_eq(ag_tensor_ndim(nt[q].tensor), cols[q] ? 2 : 1);
        if (cols[q]) ck_assert_int_eq(ag_tensor_dim(nt[q].tensor, 1), cols[q]);
        ck_assert(ag_requires_grad(nt[q].tensor));
        for (int64_t i = 0; i < ag_tensor_numel(nt[q].tensor); i++) {
            double v = ag_tensor_get(nt[q].tensor, i);
            lo = fmin(lo, v), hi = fmax(hi, v);
        }
    }
    ck_assert(lo >= -0.5 && hi <= 0.5 && lo < -0.45 && hi > 0.45);     /* U(-1/sqrt(4), .) */
    ag_module_free(m);
    m = ag_gru_cell_new(2, 5, 0, AG_F64, rng0());
    ck_assert_int_eq(ag_module_named_tensors(m, nt, 20, 1), 2);
    ck_assert_str_eq(nt[0].name, "weight_ih");
    ck_assert_str_eq(nt[1].name, "weight_hh");
    tu_assert_shape(nt[1].tensor, 2, SHAPE(15, 5));
    ag_module_free(m);
}
END_TEST

/* With dropout 1 between layers, training feeds zeros to layer 1, so two
   different inputs give the same output; evaluation uses no dropout. */
START_TEST(test_rnn_dropout_between_layers_in_training_only)
{
    ag_rng *r = ag_rng_new(3);
    ag_module *m = ag_gru_new(3, 4, 2, 1, 0, 1.0, 0, AG_F64, r);
    ag_tensor *x1 = X(AG_F64, 3, 3, 2, 3), *x2 = formula(AG_F64, 3, SHAPE(3, 2, 3), 0.5, 2, 1);
    ag_tape *t = ag_tape_new();
    ag_tensor *y1 = ag_module_forward(m, t, x1), *y2 = ag_module_forward(m, t, x2);
    ck_assert_ptr_nonnull(y2);
    for (int64_t i = 0; i < 24; i++) ck_assert_double_eq(ag_tensor_get(y1, i), ag_tensor_get(y2, i));
    ag_module_train(m, 0);
    y1 = ag_module_forward(m, t, x1), y2 = ag_module_forward(m, t, x2);
    ck_assert_ptr_nonnull(y2);
    double diff = 0;
    for (int64_t i = 0; i < 24; i++) diff += fabs(ag_tensor_get(y1, i) - ag_tensor_get(y2, i));
    ck_assert(diff > 1e-3);
    ag_tape_free(t);
    ag_tensor_free(x1), ag_tensor_free(x2);
    ag_module_free(m);
    ag_rng_free(r);
}
END_TEST

/* ---------------------------------------------------- gradcheck (f64) --- */

typedef struct grad_ctx {
    ag_module *m;
    int n_state;                        /* inputs after x that are states */
    int lstm;
} grad_ctx;

/* A cell's h' (and c'), flattened and joined: inputs x, h (, c), then the
   cell's own tensors (perturbed in place by gradcheck). */
static ag_tensor *cell_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const grad_ctx *g = ctx;
    ag_tensor *h, *c = NULL;
    if (ag_rnn_cell_forward(g->m, t, in[0], in[1], g->lstm ? in[2] : NULL, &h,
                            g->lstm ? &c : NULL) != AG_OK)
        return NULL;
    if (!g->lstm) return h;
    return ag_concat(t, 2, (ag_tensor *[]){h, c}, 1);
}

/* A sequence module's y, h_n (and c_n), flattened and joined. */
static ag_tensor *seq_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const grad_ctx *g = ctx;
    ag_tensor *y, *hn, *cn;
    if (ag_rnn_forward(g->m, t, in[0], in[1], g->lstm ? in[2] : NULL, &y, &hn, &cn) != AG_OK)
        return NULL;
    ag_tensor *parts[3] = {ag_flatten(t, y, 0, -1), ag_flatten(t, hn, 0, -1),
                           g->lstm ? ag_flatten(t, cn, 0, -1) : NULL};
    return ag_concat(t, g->lstm ? 3 : 2, parts, 0);
}

/* gradcheck and gradgradcheck of fn over x, the states and m's tensors. */
static void check_grads(ag_fn fn, ag_module *m, int lstm, ag_tensor *x, ag_tensor *h,
                        ag_tensor *c)
{
    grad_ctx g = {m, lstm ? 2 : 1, lstm};
    ag_tensor *in[24] = {x, h, c};
    int n = lstm ? 3 : 2;
    n += ag_module_parameters(m, in + n, 24 - n);
    ck_assert_int_le(n, 24);
    tu_assert_gradchecks(fn, &g, n, in);
}

START_TEST(test_rnn_cells_gradcheck_and_gradgradcheck)
{
    ag_module *cells[3] = {ag_lstm_cell_new(2, 2, 1, AG_F64, rng0()),
                           ag_gru_cell_new(2, 2, 1, AG_F64, rng0()),
                           ag_rnn_cell_new(2, 2, 1, "tanh", AG_F64, rng0())};
    for (int k = 0; k < 3; k++) {
        ag_tensor *x = X(AG_F64, 2, 2, 2), *h = H0(AG_F64, 2, 2, 2), *c = C0(AG_F64, 2, 2, 2);
        check_grads(cell_fn, cells[k], k == 0, x, h, c);
        ag_tensor_free(x), ag_tensor_free(h), ag_tensor_free(c);
        ag_module_free(cells[k]);
    }
}
END_TEST

/* A bidirectional LSTM layer over 3 steps (batch-first) and a GRU over 2
   steps with two layers, from given states. */
START_TEST(test_rnn_sequence_gradcheck_and_gradgradcheck)
{
    ag_module *m = load_formula(LSTM(AG_F64, 2, 2, 1, 1, 1));
    ag_tensor *x = X(AG_F64, 3, 1, 3, 2), *h = H0(AG_F64, 3, 2, 1, 2), *c = C0(AG_F64, 3, 2, 1, 2);
    check_grads(seq_fn, m, 1, x, h, c);
    ag_module_free(m);
    ag_tensor_free(x), ag_tensor_free(h), ag_tensor_free(c);
    m = load_formula(GRU(AG_F64, 2, 2, 2, 0, 0));
    x = X(AG_F64, 3, 2, 1, 2), h = H0(AG_F64, 3, 2, 1, 2);
    check_grads(seq_fn, m, 0, x, h, NULL);
    ag_module_free(m);
    ag_tensor_free(x), ag_tensor_free(h);
}
END_TEST

/* ------------------------------------------------------------- errors --- */

START_TEST(test_rnn_forward_errors_name_layer_and_shapes)
{
    ag_module *m = LSTM(AG_F64, 3, 4, 2, 0, 1), *g = GRU(AG_F64, 3, 4, 1, 1, 0);
    ag_tensor *x = X(AG_F64, 3, 5, 2, 7), *ok = X(AG_F64, 3, 5, 2, 3);
    ag_tensor *h0 = H0(AG_F64, 3, 2, 2, 4), *x32 = X(AG_F32, 3, 5, 2, 3);
    ag_tensor *empty = ag_zeros(NULL, AG_F64, 3, SHAPE(0, 2, 3));
    ag_tape *t = ag_tape_new();
    ag_tensor *y = x, *hn = x;
    ck_assert_int_eq(ag_rnn_forward(m, t, x, NULL, NULL, &y, &hn, NULL), AG_ERR_SHAPE);
    ck_assert_ptr_null(hn);
    tu_assert_error(t, y, AG_ERR_SHAPE, "LSTM(3, 4, num_layers=2, bidirectional=True): x is "
                    "[5,2,7]", "expected [T, B, 3] or [T, 3]");
    ag_tape_reset(t);
    ck_assert_int_eq(ag_rnn_forward(m, t, ok, h0, NULL, &y, NULL, NULL), AG_ERR_SHAPE);
    tu_assert_error(t, y, AG_ERR_SHAPE, "h0 is [2,2,4]", "expected [4,2,4]");
    ag_tape_reset(t);
    ck_assert_int_eq(ag_rnn_forward(g, t, ok, NULL, h0, &y, NULL, NULL), AG_ERR_ARG);
    tu_assert_error(t, y, AG_ERR_ARG, "GRU(3, 4, batch_first=True): c0 is given", "LSTM");
    ag_tape_reset(t);
    tu_assert_error(t, ag_module_forward(m, t, x32), AG_ERR_DTYPE, "LSTM(3, 4", "x is f32");
    ag_tape_reset(t);
    tu_assert_error(t, ag_module_forward(m, t, empty), AG_ERR_SHAPE, "[0,2,3]",
                    "empty sequence");
    ag_tape_reset(t);
    ag_module *lin = ag_linear_new(3, 4, 1, AG_F64, rng0());
    ck_assert_int_eq(ag_rnn_forward(lin, t, ok, NULL, NULL, &y, NULL, NULL), AG_ERR_ARG);
    tu_assert_error(t, y, AG_ERR_ARG, "ag_rnn_forward", "Linear");
    ag_tape_reset(t);
    ck_assert_int_eq(ag_rnn_cell_forward(m, t, ok, NULL, NULL, &y, NULL), AG_ERR_ARG);
    tu_assert_error(t, y, AG_ERR_ARG, "ag_rnn_cell_forward", "LSTM");
    ag_tape_free(t);
    ck_assert_int_eq(ag_rnn_forward(m, NULL, ok, NULL, NULL, &y, NULL, NULL), AG_ERR_ARG);
    ag_tensor_free(x), ag_tensor_free(ok), ag_tensor_free(h0), ag_tensor_free(x32);
    ag_tensor_free(empty);
    ag_module_free(m), ag_module_free(g), ag_module_free(lin);
}
END_TEST

START_TEST(test_rnn_cell_errors_name_layer_and_shapes)
{
    ag_module *lc = ag_lstm_cell_new(3, 4, 1, AG_F64, rng0());
    ag_module *rc = ag_rnn_cell_new(3, 4, 1, "relu", AG_F64, rng0());
    ag_tensor *x = X(AG_F64, 2, 2, 3), *bad_x = X(AG_F64, 2, 2, 5), *h = H0(AG_F64, 2, 3, 4);
    ag_tape *t = ag_tape_new();
    ag_tensor *hn = x, *cn = x;
    ck_assert_int_eq(ag_rnn_cell_forward(lc, t, bad_x, NULL, NULL, &hn, &cn), AG_ERR_SHAPE);
    ck_assert_ptr_null(cn);
    tu_assert_error(t, hn, AG_ERR_SHAPE, "LSTMCell(3, 4): x is [2,5]", "expected [B, 3]");
    ag_tape_reset(t);
    ck_assert_int_eq(ag_rnn_cell_forward(lc, t, x, NULL, h, &hn, &cn), AG_ERR_SHAPE);
    tu_assert_error(t, hn, AG_ERR_SHAPE, "LSTMCell(3, 4): c is [3,4]", "expected [2,4]");
    ag_tape_reset(t);
    ck_assert_int_eq(ag_rnn_cell_forward(rc, t, x, NULL, x, &hn, NULL), AG_ERR_ARG);
    tu_assert_error(t, hn, AG_ERR_ARG, "RNNCell(3, 4, nonlinearity=relu): c is given",
                    "LSTMCell");
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(bad_x), ag_tensor_free(h);
    ag_module_free(lc), ag_module_free(rc);
}
END_TEST

START_TEST(test_rnn_constructor_errors)
{
    ck_assert_ptr_null(ag_lstm_new(3, 0, 1, 1, 0, 0, 0, AG_F32, rng0()));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_lstm_new: input_size 3, hidden_size 0"));
    ck_assert_ptr_null(ag_gru_new(3, 4, 2, 1, 0, 1.5, 0, AG_F32, rng0()));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_gru_new: dropout is 1.5"));
    ck_assert_ptr_null(ag_rnn_new(3, 4, 1, "sigmoid", 1, 0, 0, 0, AG_F32, rng0()));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "unknown nonlinearity \"sigmoid\""));
    /* a NULL generator: zero weights (to be loaded); an evaluation forward
       runs, a training forward with dropout fails on the tape */
    ag_module *z = ag_lstm_new(3, 4, 2, 1, 0, 0.5, 0, AG_F64, NULL);
    ck_assert_ptr_nonnull(z);
    ag_tensor *w = ag_module_get(z, "weight_ih_l1");
    for (int64_t i = 0; i < ag_tensor_numel(w); i++) ck_assert(ag_tensor_get(w, i) == 0);
    ag_tape *t = ag_tape_new();
    ck_assert_ptr_null(ag_module_forward(z, t, ag_ones(t, AG_F64, 3, SHAPE(2, 1, 3))));
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "generator is NULL"));
    ag_tape_reset(t);
    ag_module_train(z, 0);
    ag_tensor *y = ag_module_forward(z, t, ag_ones(t, AG_F64, 3, SHAPE(2, 1, 3)));
    tu_assert_shape(y, 3, SHAPE(2, 1, 4));
    for (int64_t i = 0; i < 8; i++) ck_assert(ag_tensor_get(y, i) == 0);   /* tanh(0) * sigmoid(0) */
    ag_tape_free(t);
    ag_module_free(z);
    ag_module *zc = ag_lstm_cell_new(3, 4, 1, AG_F32, NULL);
    ck_assert_ptr_nonnull(zc);
    ck_assert(ag_tensor_get(ag_module_get(zc, "bias_hh"), 5) == 0);
    ag_module_free(zc);
    ck_assert_ptr_null(ag_gru_cell_new(3, 4, 1, (ag_dtype)7, rng0()));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_gru_cell_new: unknown dtype 7"));
}
END_TEST

/* ------------------------------------------------------- safetensors --- */

/* Saved under PyTorch's names, loaded into a layer drawn from another
   seed, the outputs agree bit for bit. */
START_TEST(test_rnn_save_load_round_trip_with_torch_names)
{
    tu_dir d;
    tu_dir_make(&d);
    ag_rng *r1 = ag_rng_new(11), *r2 = ag_rng_new(12);
    ag_module *a = ag_lstm_new(3, 4, 2, 1, 1, 0, 1, AG_F32, r1);
    ag_module *b = ag_lstm_new(3, 4, 2, 1, 1, 0, 1, AG_F32, r2);
    ck_assert_int_eq(ag_module_save(a, tu_path(&d, "lstm.safetensors")), AG_OK);
    ag_safetensors *f;
    ck_assert_int_eq(ag_safetensors_open(tu_path(&d, "lstm.safetensors"), &f), AG_OK);
    ck_assert_int_eq(ag_safetensors_count(f), 16);
    ck_assert_int_ge(ag_safetensors_find(f, "weight_ih_l1_reverse"), 0);
    ag_st_info info;
    ck_assert_int_eq(ag_safetensors_info(f, ag_safetensors_find(f, "weight_ih_l1_reverse"),
                                         &info), AG_OK);
    ck_assert_int_eq(info.ndim, 2);
    ck_assert_int_eq(info.shape[0], 16);
    ck_assert_int_eq(info.shape[1], 8);
    ag_safetensors_close(f);
    ck_assert_int_eq(ag_module_load(b, tu_path(&d, "lstm.safetensors")), AG_OK);
    ag_tensor *x = X(AG_F32, 3, 2, 4, 3);
    ag_tape *t = ag_tape_new();
    ag_tensor *ya = ag_module_forward(a, t, x), *yb = ag_module_forward(b, t, x);
    ck_assert_ptr_nonnull(yb);
    ck_assert_int_eq(memcmp(ag_tensor_data(ya), ag_tensor_data(yb), 64 * sizeof(float)), 0);
    ag_module *gru = ag_gru_new(3, 4, 2, 1, 1, 0, 1, AG_F32, r1);     /* not an LSTM's file */
    ck_assert_int_ne(ag_module_load(gru, tu_path(&d, "lstm.safetensors")), AG_OK);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_module_free(a), ag_module_free(b), ag_module_free(gru);
    ag_rng_free(r1), ag_rng_free(r2);
    tu_dir_remove(&d);
}
END_TEST

Suite *suite_rnn(void)
{
    Suite *s = suite_create("rnn");
    TU_ADD(s, test_rnn_lstm_two_layers_bidirectional_matches_torch);
    TU_ADD(s, test_rnn_lstm_gradients_match_torch);
    TU_ADD(s, test_rnn_gru_two_layers_bidirectional_batch_first_matches_torch);
    TU_ADD(s, test_rnn_lstm_batch_first_gru_time_major_match_torch);
    TU_ADD(s, test_rnn_rnn_relu_unbatched_and_tanh_bidirectional_match_torch);
    TU_ADD(s, test_rnn_cells_match_torch);
    TU_ADD(s, test_rnn_state_dict_names_shapes_and_init);
    TU_ADD(s, test_rnn_dropout_between_layers_in_training_only);
    TU_ADD(s, test_rnn_cells_gradcheck_and_gradgradcheck);
    TU_ADD(s, test_rnn_sequence_gradcheck_and_gradgradcheck);
    TU_ADD(s, test_rnn_forward_errors_name_layer_and_shapes);
    TU_ADD(s, test_rnn_cell_errors_name_layer_and_shapes);
    TU_ADD(s, test_rnn_constructor_errors);
    TU_ADD(s, test_rnn_save_load_round_trip_with_torch_names);
    return s;
}
